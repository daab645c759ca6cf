#pragma once
// One change to a shared document (DOCUMENT_TOPICS, docs/documents.md), as a client or
// the REST API wrote it: the form and its JSON, kept as written (compact text), because
// subscribers receive the change in that same form.
#include <cstdint>
#include <optional>
#include <string>

namespace natsync {

struct DocumentChange {
  enum class Form {
    merge,    // "data": an RFC 7396 JSON merge patch
    ops,      // "ops": an RFC 6902 JSON Patch (an array of operations)
    replace,  // "data" with "replace":true: the whole new document
  };
  Form form = Form::merge;
  std::string body;                          // compact JSON of "data" or "ops"
  std::optional<std::uint64_t> if_revision;  // apply only at this revision (compare-and-set)
};

}  // namespace natsync
