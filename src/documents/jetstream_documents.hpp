#pragma once
// The documents of a cluster (NATS_URL with DOCUMENT_TOPICS): kept in one JetStream
// stream that every node shares, so any node serves any document, a change made on one
// node reaches subscribers on every node in revision order, and no node can die with
// an acknowledged change. docs/documents.md states the guarantees; this header the
// mechanics.
//
// - Stream <PREFIX>_DOCUMENTS on subjects <prefix>.doc.>, file storage,
//   HISTORY_REPLICAS replicas, HISTORY_SIZE + 1 messages per subject, no age limit:
//   each message is one accepted change as a DocumentRecord (the change and the whole
//   document after it), so the subject's last message is the document.
// - Compare-and-set is JetStream's: a change built on the message at stream sequence S
//   is published with Nats-Expected-Last-Subject-Sequence: S (0: the document does not
//   exist yet) and Nats-Msg-Id <topic>@<revision>, so of two nodes that build on the
//   same revision one is refused (wrong last sequence, or a duplicate). Refused, the node reads the last
//   message again and, unless the change has an if_revision that no longer holds, builds it again (at most
//   kMaxAttempts times). A node sends one change of a document at a time.
// - Revisions are numbered by the writer (the record's revision + 1); the stream's
//   compare-and-set makes them consecutive. The epoch is kept in the stream
//   (JetStreamClient::settle_epoch, on <prefix>.doc.$epoch).
// - Live delivery: ONE ordered consumer per node on the whole stream, as for the
//   history; a record goes to the hub as a patch frame whose offset is its revision.
//   A subscriber joins the hub before its recover() reads what this node knows of the
//   document (revision R): every record after R is handed to the hub after that read or
//   was stored after it, so it reaches the subscriber live; the session drops live ones
//   up to R (RecoverySeam).
// - Catch-up after "since": from the changes this node's consumer delivered (kept per
//   document it knows), else by walking back from the last message through each
//   record's previous sequence (one request per change); a change no longer in the
//   stream means a snapshot (recovered:false).
//
// Threads: callers (workers, REST) call change/read/recover; nats.c's threads run the
// consumer and the publish acks; one 2-thread pool makes the blocking requests and
// builds changes.
#include <nats/nats.h>
#include <spdlog/logger.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "documents/document_record.hpp"
#include "documents/document_settings.hpp"
#include "documents/documents.hpp"
#include "documents/recent_changes.hpp"
#include "hub/hub.hpp"
#include "jetstream/jetstream_client.hpp"
#include "jetstream/readiness_gate.hpp"
#include "protocol/client_message.hpp"

namespace natsync {

struct JetStreamDocumentSettings {
  std::vector<std::string> servers;  // nats://host:port
  std::string subject_prefix = "natsync";
  std::string node_id;
  DocumentSettings documents;
  int replicas = 1;
  std::chrono::milliseconds request_timeout{5000};
};

class JetStreamDocuments final : public Documents {
 public:
  JetStreamDocuments(JetStreamDocumentSettings settings, const Hub& hub, spdlog::logger& log);
  ~JetStreamDocuments() override;
  JetStreamDocuments(const JetStreamDocuments&) = delete;
  JetStreamDocuments& operator=(const JetStreamDocuments&) = delete;

  // Connects and sets up the stream and the consumer in the background (retrying while
  // JetStream does not answer); until then changes and reads are unavailable and
  // subscribes wait (up to 30 s). Throws std::runtime_error for settings nats.c rejects.
  void start();
  // Stops the consumer, answers what is in flight, closes. Idempotent.
  void stop();

  bool document(std::string_view topic) const override { return is_document(settings_.documents, topic); }
  void read(const std::string& topic, ReadDone done) override;
  void change(const std::string& topic, const DocumentChange& change, ChangeDone done) override;
  void recover(const std::string& topic, const std::optional<StreamPosition>& since,
               RecoverDone done) override;
  std::size_t documents() const override;
  void sweep() override;

  static std::string stream_name(std::string_view subject_prefix);

 private:
  // The latest this node knows of one document: from its consumer, a read of the last
  // message, or the ack of its own change; only ever replaced by a later revision. The
  // consumer keeps an entry for every document it delivers (revision and sequence); the
  // text only for documents this node has loaded (read, subscribed to or changed).
  struct Known {
    std::string document_json = "null";
    std::uint64_t revision = 0;
    std::uint64_t sequence = 0;                    // of the record in the stream (0: none)
    bool loaded = false;                           // document_json is the text at `revision`
    std::uint64_t dispatched = 0;                  // the last revision handed to the hub here
    std::shared_ptr<const nlohmann::json> parsed;  // document_json, parsed (null: not yet)
    Frame snapshot;                                // made on first use
    RecentChanges recent;                          // as this node's consumer delivered them
  };
  // What a change is built on.
  struct Base {
    std::uint64_t revision = 0;
    std::uint64_t sequence = 0;
    std::shared_ptr<const nlohmann::json> document;
  };
  struct PendingChange {
    DocumentChange change;
    ChangeDone done;
    int attempts = 0;
  };
  // One document's changes sent from this node, one at a time.
  struct Writes {
    std::deque<PendingChange> queue;
    bool busy = false;        // the front one is being built or is in flight
    bool read_again = false;  // what is known was refused as stale: read the last message
  };
  enum class Answer { done, load, walk, ahead };

  void set_up();
  bool subscribe_consumer();
  // The last record of `topic` from the stream leader; nullopt when JetStream did not
  // answer (or holds a damaged record there).
  std::optional<Known> read_last(const std::string& topic);
  // Takes what was read or acknowledged into known_ if it is later than what is there;
  // false when the entry is still not loaded (the consumer has handed on a later one).
  bool learn(const std::string& topic, Known&& learned);
  // Makes sure `topic` is loaded (reading the stream if need be); false: JetStream did not answer.
  bool load(const std::string& topic);
  std::optional<Base> base_for(const std::string& topic, bool read_again);

  void advance(const std::string& topic);  // pool: builds and sends the next change of `topic`
  // Publishes one record with the compare-and-set; false when it was answered at once.
  bool send(const std::string& topic, DocumentRecord record, std::shared_ptr<const nlohmann::json> document);
  void finish(const std::string& topic, const DocumentOutcome& outcome);

  // A subscriber's start from what is known (under known_mutex_, never blocks), or what
  // it needs first.
  Answer answer_from_known(const std::string& topic, const std::optional<StreamPosition>& since,
                           DocumentRecovery& out);
  DocumentRecovery catch_up(const std::string& topic, const std::optional<StreamPosition>& since);
  // The changes after `since` read from the stream, newest first back through each
  // record's previous sequence; nullopt when one is gone or they would cost more than
  // the snapshot. Sets `position` to the last of them.
  std::optional<std::vector<Frame>> walk_back(const std::string& topic, std::uint64_t since,
                                              StreamPosition& position);

  static void on_message(natsConnection*, natsSubscription*, natsMsg* message, void* closure);
  static void on_ack(jsCtx* js, natsMsg* message, jsPubAck* ack, jsPubAckErr* error, void* closure);
  void deliver(natsMsg* message);

  std::string epoch() const;
  std::string subject_for(std::string_view topic) const { return subject_prefix_ + std::string(topic); }
  // Where the epoch is kept (JetStreamClient::settle_epoch): no topic has a '$'. No
  // message of this stream ages out, so it needs no renewal.
  std::string epoch_subject() const { return subject_prefix_ + "$epoch"; }

  static constexpr int kMaxAttempts = 32;
  static constexpr auto kPatience = std::chrono::seconds(30);  // a subscribe waits this long for set-up
  static constexpr auto kReadTimeout = std::chrono::milliseconds(2000);

  JetStreamDocumentSettings settings_;
  const Hub& hub_;
  spdlog::logger& log_;
  std::string subject_prefix_;  // "<prefix>.doc."
  JetStreamClient client_;
  ReadinessGate gate_;
  std::atomic<bool> stopping_{false};

  boost::asio::thread_pool pool_{2};
  boost::asio::steady_timer retry_timer_{pool_};

  mutable std::mutex epoch_mutex_;
  std::string epoch_;

  mutable std::mutex known_mutex_;
  std::unordered_map<std::string, Known> known_;

  std::mutex writes_mutex_;
  std::unordered_map<std::string, Writes> writes_;
  // In-flight publishes: message -> (topic, the record sent).
  struct InFlight {
    std::string topic;
    DocumentRecord record;
    std::shared_ptr<const nlohmann::json> parsed;
  };
  std::mutex in_flight_mutex_;
  std::unordered_map<natsMsg*, InFlight> in_flight_;

  // The consumer (as JetStreamHistory's): deliveries one at a time, repeats dropped,
  // recreated from dispatched_ + 1 when it stalls.
  std::mutex consumer_mutex_;
  natsSubscription* consumer_ = nullptr;
  std::mutex deliver_mutex_;
  std::uint64_t dispatched_ = 0;  // under deliver_mutex_
  MessageParser parser_;          // under deliver_mutex_
  std::atomic<std::uint64_t> dispatched_seen_{0};
  std::uint64_t last_swept_ = 0;  // pool (sweep)
  int stalled_sweeps_ = 0;
  std::atomic<bool> sweeping_{false};
};

}  // namespace natsync
