#pragma once
// The history of durable topics across a cluster (NATS_URL with DURABLE_TOPICS): one
// JetStream stream holds every durable topic, so whichever node a client reconnects to
// finds what it missed, and a natsync node can die without losing anything that was
// acknowledged. docs/history.md states the guarantees; this header the mechanics.
//
// - Stream <PREFIX>_HISTORY on subjects <prefix>.d.>, file storage, HISTORY_REPLICAS
//   replicas, per subject HISTORY_SIZE + 1 messages, HISTORY_TTL max age, the same as
//   the duplicate window (idempotency keys become Nats-Msg-Id).
// - Offsets are stream sequence numbers: monotonic per topic (not consecutive), the same
//   on every node. The epoch is a random value kept as the first message on
//   <prefix>.d.$epoch (JetStreamClient::settle_epoch), renewed every HISTORY_TTL/3.
// - Live delivery: each node has ONE ordered push consumer on the whole stream (not one
//   per client or per topic); its messages, in stream order, go to the hub like any
//   publication. A publishing node delivers its own message this way too, once stored:
//   the cost of durability is that one JetStream round trip, not one per subscriber.
// - Recovery reads the range with STREAM.MSG.GET next_by_subj requests (no consumer).
//   A subscriber is in the hub before the node reads `dispatched` (the last sequence it
//   handed to the hub): everything after that reaches it live, everything up to it is in
//   the range read. "recovered" is claimed only when no message of the topic after
//   `since` can have been removed: at most HISTORY_SIZE of them exist (so the per-topic
//   limit took none) and none can have aged out (the stream's first sequence is not past
//   `since`, or `since` was stored within HISTORY_TTL by this node's own record).
//
// Threads: callers (workers, REST) call publish/recover/read; nats.c's threads run the
// consumer and the publish acks; two small pools make the blocking JetStream requests:
// one for set-up, sweeps and reads, one for recoveries (which may wait for seconds).
#include <nats/nats.h>
#include <spdlog/logger.h>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "history/history.hpp"
#include "history/history_store.hpp"
#include "hub/hub.hpp"
#include "jetstream/jetstream_client.hpp"
#include "protocol/client_message.hpp"

namespace natsync {

struct JetStreamSettings {
  std::vector<std::string> servers;  // nats://host:port
  std::string subject_prefix = "natsync";
  std::string node_id;
  HistorySettings history;
  int replicas = 1;  // of the stream: 3 on a 3-server JetStream cluster survives one loss
  std::chrono::milliseconds request_timeout{5000};
};

class JetStreamHistory final : public History {
 public:
  JetStreamHistory(JetStreamSettings settings, const Hub& hub, spdlog::logger& log);
  ~JetStreamHistory() override;
  JetStreamHistory(const JetStreamHistory&) = delete;
  JetStreamHistory& operator=(const JetStreamHistory&) = delete;

  // Connects and sets up the stream and the consumer in the background (retrying while
  // JetStream does not answer); until then durable publishes fail and subscribes to
  // durable topics wait (up to 30 s, then Recovery::unavailable()). Throws
  // std::runtime_error for settings nats.c rejects.
  void start();
  // Stops the consumer, waits for the requests under way, closes. Idempotent.
  void stop();

  bool durable(std::string_view topic) const override { return is_durable(settings_.history, topic); }
  void publish(const std::string& topic, std::string_view data_json, std::uint64_t exclude_connection,
               std::string_view idempotency_key, PublishDone done) override;
  void recover(const std::string& topic, const std::optional<StreamPosition>& since,
               RecoverDone done) override;
  void read(const std::string& topic, std::uint64_t after, std::size_t limit, ReadDone done) override;
  std::size_t messages() const override { return messages_; }
  std::uint64_t consumer_lag() const override {
    const auto last = stream_last_.load();
    const auto dispatched = dispatched_.load();
    return last > dispatched ? last - dispatched : 0;
  }
  void sweep() override;

  // The stream's name for a subject prefix ("natsync" -> "NATSYNC_HISTORY").
  static std::string stream_name(std::string_view subject_prefix);

 private:
  using Lookup = JetStreamClient::Lookup;
  // Gets the first message on a subject at or after a sequence (once, or patiently).
  using Fetch = std::function<Lookup(const std::string& subject, std::uint64_t from,
                                     JetStreamClient::StoredMessage& out)>;

  // Pool threads.
  void set_up();
  bool ensure_stream();
  // Answers Recovery::unavailable() to subscribes waiting for readiness past their deadline.
  void give_up_waiting(std::chrono::steady_clock::time_point now);
  // (Re)creates this node's ordered consumer, from the sequence after `dispatched_`;
  // the old one stops once the new one exists.
  bool subscribe_consumer();
  // The messages of `topic` after `after`, oldest first, to `visit` until it returns false
  // or there are no more: the one range-read loop of recoveries and history reads. False
  // when JetStream did not answer.
  bool read_range(const std::string& topic, std::uint64_t after, const Fetch& fetch,
                  const std::function<bool(const JetStreamClient::StoredMessage&)>& visit);
  // The stream's state (and the message count for the status), or nullopt.
  std::optional<JetStreamClient::StreamState> stream_state();
  Recovery fetch_recovery(const std::string& topic, const StreamPosition& since, std::uint64_t dispatched,
                          const std::string& epoch);
  // Whether `sequence` was stored recently enough that nothing after it can have aged
  // out, by this node's record of what it delivered.
  bool stored_within_ttl(std::uint64_t sequence) const;

  static void on_message(natsConnection* connection, natsSubscription* subscription, natsMsg* message,
                         void* closure);
  static void on_ack(jsCtx* js, natsMsg* message, jsPubAck* ack, jsPubAckErr* error, void* closure);
  void deliver(natsMsg* message);
  // The `done` of an async publish, removed from pending_ (empty if already taken).
  PublishDone take_pending(natsMsg* message);

  std::string epoch() const;
  std::string subject_for(std::string_view topic) const { return subject_prefix_ + std::string(topic); }
  // Where the epoch is kept: a subject of the stream that no topic can have ('$').
  std::string epoch_subject() const { return subject_prefix_ + "$epoch"; }

  JetStreamSettings settings_;
  const Hub& hub_;
  spdlog::logger& log_;
  std::string subject_prefix_;  // "<prefix>.d."
  JetStreamClient client_;
  std::mutex consumer_mutex_;
  natsSubscription* consumer_ = nullptr;
  // Pool thread (sweep): the consumer's progress at the last sweep.
  std::uint64_t last_swept_dispatched_ = 0;
  std::atomic<std::uint64_t> stream_last_{0};  // the stream's last sequence, at the last sweep
  std::chrono::steady_clock::time_point last_epoch_renewal_{};
  int stalled_sweeps_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};

  // Set-up, sweeps and history reads: requests that answer within a read timeout.
  boost::asio::thread_pool pool_{2};
  boost::asio::steady_timer retry_timer_{pool_};
  // Recoveries, which may wait out a leader election (up to kRecoveryPatience, asking
  // again and again): apart, so that they never hold up the stall detection or a read.
  boost::asio::thread_pool recovery_pool_{2};

  mutable std::mutex epoch_mutex_;
  std::string epoch_;
  // The last stream sequence this node hands to the hub: stored before the hub gets the
  // message, so every message after a value read here reaches a subscriber that joined
  // the hub before the read.
  std::atomic<std::uint64_t> dispatched_{0};
  std::atomic<std::uint64_t> repeats_{0};  // messages the consumer delivered twice, dropped
  std::atomic<std::size_t> messages_{0};
  std::atomic<bool> state_refreshing_{false};

  // (sequence, store time in ns since the Unix epoch) of messages delivered here, one
  // per 100 ms, for HISTORY_TTL: a lower bound of when a sequence was stored.
  mutable std::mutex samples_mutex_;
  std::deque<std::pair<std::uint64_t, std::int64_t>> samples_;

  // Held by deliver(): the repeat check, dispatched_ and parser_ are one delivery's.
  std::mutex deliver_mutex_;
  MessageParser parser_;

  // Subscribes (with or without "since") that came before JetStream answered this node:
  // started when it does, or answered unavailable at their deadline. ready_ changes
  // under waiting_mutex_.
  struct Waiting {
    std::function<void()> start;
    std::function<void()> give_up;
    std::chrono::steady_clock::time_point deadline;
  };
  std::mutex waiting_mutex_;
  std::vector<Waiting> waiting_;

  // Async publishes waiting for their ack, by message.
  std::mutex pending_mutex_;
  std::unordered_map<natsMsg*, PublishDone> pending_;
};

}  // namespace natsync
