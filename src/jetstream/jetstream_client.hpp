#pragma once
// The JetStream requests of the history (JetStreamHistory) and of the documents
// (JetStreamDocuments), each over a NATS connection of its own: set up the stream, read
// its state, get one stored message by subject, start an ordered push consumer, publish
// asynchronously. Every call but publish blocks for at most its timeout, so callers make
// them on their own pools, never on a worker. Nothing here knows topics, offsets,
// revisions or recovery: those are the callers'.
#include <nats/nats.h>
#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natsync {

class JetStreamClient {
 public:
  // One stored message, as STREAM.MSG.GET returns it.
  struct StoredMessage {
    std::uint64_t sequence = 0;
    std::string subject;
    std::string data;
  };
  enum class Lookup { found, none, failed };
  struct StreamState {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t messages = 0;
  };
  // What the stream is made with (file storage, the oldest discarded first).
  struct StreamSpec {
    std::string subjects;  // one pattern
    int replicas = 1;
    std::int64_t max_messages_per_subject = 0;
    std::chrono::nanoseconds max_age{};
    std::chrono::nanoseconds duplicate_window{};
  };
  struct StreamInfo {
    StreamState state;
    std::int64_t created = 0;  // creation time (ns)
  };

  // `purpose` names the user in log lines ("history", "documents").
  JetStreamClient(std::string stream, std::string purpose, spdlog::logger& log)
      : stream_(std::move(stream)), purpose_(std::move(purpose)), log_(log) {}
  ~JetStreamClient();
  JetStreamClient(const JetStreamClient&) = delete;
  JetStreamClient& operator=(const JetStreamClient&) = delete;

  const std::string& stream() const { return stream_; }

  // Connects as `name` (in the background while no server answers); `on_ack` gets the
  // acks of publish(). Throws std::runtime_error for settings nats.c rejects.
  void connect(const std::vector<std::string>& servers, const std::string& name,
               std::chrono::milliseconds request_timeout, jsPubAckHandler on_ack, void* ack_closure);
  // Creates the stream, or takes the existing one (with these settings where JetStream
  // lets them change); nullopt while JetStream does not answer (logged).
  std::optional<StreamInfo> ensure_stream(const StreamSpec& spec);
  // The stream's state; nullopt when JetStream did not answer within `wait`.
  std::optional<StreamState> stream_state(std::chrono::milliseconds wait);
  // The first message on `subject` at or after sequence `from` (the stream leader answers).
  Lookup next_message(const std::string& subject, std::uint64_t from, std::chrono::milliseconds wait,
                      StoredMessage& out);
  // The last message on `subject` (the stream leader answers).
  Lookup last_message(const std::string& subject, std::chrono::milliseconds wait, StoredMessage& out);
  // The stream's epoch: the first message on `marker_subject` (a subject of the stream
  // that no topic can have), made from a random value when there is none. Every node
  // reads the same one: of markers written at the same moment, the first stored wins.
  // (The stream's creation time is not that: nodes that create the stream at the same
  // moment are not all told the same one.) nullopt while JetStream does not answer.
  std::optional<std::string> settle_epoch(const std::string& marker_subject, std::chrono::milliseconds wait);
  // Stores `epoch` on the marker subject again, so that a stream whose messages age out
  // keeps one while any node runs.
  bool renew_epoch(const std::string& marker_subject, const std::string& epoch,
                   std::chrono::milliseconds wait);
  // The largest message the NATS server takes (its max_payload), 0 before connected.
  std::int64_t max_payload() const;
  // An ordered push consumer on `subjects` from `first_sequence`, delivering to `handler`
  // on nats.c's delivery thread; null when it could not be made (logged).
  natsSubscription* subscribe_ordered(const std::string& subjects, std::uint64_t first_sequence,
                                      natsMsgHandler handler, void* closure, int pending_messages,
                                      int pending_bytes);
  // Hands `message` to nats.c (which then owns it, and sets *message to null) or fails.
  natsStatus publish(natsMsg** message, jsPubOptions options);
  // Waits up to `wait` for the acks of what is in flight, so that every ack runs.
  void finish_publishes(std::chrono::milliseconds wait);
  // Closes the connection (no more callbacks), then frees what connect() made.
  void close();

 private:
  Lookup get_message(const std::string& request, std::uint64_t from, std::chrono::milliseconds wait,
                     StoredMessage& out);

  std::string stream_;
  std::string purpose_;
  spdlog::logger& log_;
  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
};

// `bytes` as lowercase hex digits (keeps any bytes out of a NATS header).
std::string hex(std::string_view bytes);
// A stream's name: the subject prefix in capitals, then the suffix ("natsync",
// "HISTORY" -> "NATSYNC_HISTORY"); characters a name may not hold become '_'.
std::string stream_name(std::string_view subject_prefix, std::string_view suffix);

}  // namespace natsync
