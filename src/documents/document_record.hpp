#pragma once
// One accepted change of a document as a cluster stores it (JetStreamDocuments): a
// message of the documents stream holds the change, as written, and the whole document
// after it, behind one line of text that numbers it:
//
//   "NSD1 <revision> <previous sequence> <m|o|r> <bytes of the change>\n" change document
//
// The document is there so that the last message of a subject is the snapshot (no
// replay from revision 1); the change so that subscribers get it in the form it was
// written; the previous sequence (of revision - 1 in the stream, 0 for none) so that a
// catch-up walks back from the last message without a consumer. Pure: no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/document_change.hpp"

namespace natsync {

struct DocumentRecord {
  std::uint64_t revision = 0;
  std::uint64_t previous_sequence = 0;
  DocumentChange::Form form = DocumentChange::Form::merge;
  std::string change;    // compact JSON of "data" or "ops"
  std::string document;  // compact JSON of the document at `revision`
};

std::string encode_document_record(const DocumentRecord& record);
// nullopt: not a record (another writer on the stream's subjects, or damage). The JSON
// of the change and of the document is not checked here.
std::optional<DocumentRecord> decode_document_record(std::string_view bytes);

}  // namespace natsync
