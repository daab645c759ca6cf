#pragma once
// Shared JSON documents (DOCUMENT_TOPICS, docs/documents.md), seen from the rest of the
// server: read one, change one, and what a subscriber starts from. Every answer comes
// through a callback that runs exactly once, before the call returns or later on
// another thread (a change is answered once it is durable), as for History.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/document_change.hpp"
#include "protocol/error_code.hpp"
#include "protocol/stream_position.hpp"
#include "protocol/wire_frame.hpp"

namespace natsync {

// A document as stored: its compact JSON ("null": it does not exist), its revision
// (0 before the first change) and the epoch of the store.
struct DocumentSnapshot {
  std::string data_json = "null";
  std::uint64_t revision = 0;
  std::string epoch;
};

// The outcome of one change.
struct DocumentOutcome {
  enum class Status {
    ok,                 // stored (durably) at `revision`
    revision_conflict,  // if_revision was not the document's revision (`revision` is)
    rejected,           // the change does not apply: `code` (patch_failed, invalid_message,
                        // document_too_large) and `message`, `index` for a JSON Patch
    unavailable,        // the store failed; nothing changed
  };
  Status status = Status::ok;
  std::uint64_t revision = 0;
  ErrorCode code = ErrorCode::internal_error;
  std::string message;
  std::optional<std::size_t> index;
};

// What a subscriber gets: where it starts (revision, epoch) and what to deliver first:
// the changes after its `since` (recovered) or the snapshot.
struct DocumentRecovery {
  bool available = true;  // false: the store did not answer; the subscribe fails
  bool recovered = false;
  StreamPosition position;    // offset = the revision
  std::vector<Frame> frames;  // patch frames (recovered) or one snapshot frame
};

class Documents {
 public:
  using ReadDone = std::function<void(std::optional<DocumentSnapshot>)>;  // nullopt: unavailable
  using ChangeDone = std::function<void(const DocumentOutcome&)>;
  using RecoverDone = std::function<void(DocumentRecovery)>;

  virtual ~Documents() = default;

  // Whether `topic` is a document. Thread-safe, never blocks.
  virtual bool document(std::string_view topic) const = 0;
  virtual void read(const std::string& topic, ReadDone done) = 0;
  // `change.body` is valid compact JSON. Accepted changes reach the topic's subscribers
  // on every worker as patch frames, in revision order, once stored.
  virtual void change(const std::string& topic, const DocumentChange& change, ChangeDone done) = 0;
  // For a subscriber just added to its worker's hub (call on that worker, right after):
  // every change after the returned position reaches it live; live ones up to it must
  // be dropped (RecoverySeam).
  virtual void recover(const std::string& topic, const std::optional<StreamPosition>& since,
                       RecoverDone done) = 0;
  // Documents in memory now (status).
  virtual std::size_t documents() const = 0;
  // Housekeeping, about once a second from one worker (a cluster's consumer watch).
  virtual void sweep() {}
};

}  // namespace natsync
