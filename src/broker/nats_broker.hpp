#pragma once
// The multi-node broker: natsync nodes exchange publications through NATS (nats.c
// against nats-server), so any number of nodes act as one server. docs/cluster.md
// describes the behaviour; this header the mechanics.
//
// Threads:
// - Callers (workers, REST, the library API) call publish() and the interest
//   functions from any thread. publish() delivers locally through the hub at once and
//   hands the data to nats.c, whose publish only appends to its buffer.
// - One broker thread (its own io_context) owns the interest table and makes every
//   NATS subscribe/unsubscribe/flush call, so no network thread ever waits on NATS.
// - nats.c's delivery thread (global delivery pool: one thread for all
//   subscriptions, which also keeps per-subject order) runs on_message: it validates the
//   data once, builds the frame once and hands it to the hub, which posts it to the
//   workers.
//
// Exactly once: the connection is NoEcho, so a node never receives what it published;
// it delivered that locally already. Interest: a subject is subscribed only while some
// local connection wants it (refcounted per worker), plus <prefix>.all and .nodes.
//
// Patterns: a pattern subscription (`chat.*`) is one NATS subscription on the pattern's
// subject, however many topics it matches. A node whose subscriptions overlap (`chat.*`
// and `chat.x`, or two patterns) must still get each message once: every topic
// subscription of a node is a queue subscription in the node's own queue group, so NATS
// hands each message to one of them, whichever; the node then delivers it by its topic
// to every local connection that wants it (LocalHub). A topic subscription that is no
// longer wanted is drained, not cut: a message NATS already gave it (and so to no other
// subscription of the group) is still delivered.
#include <nats/nats.h>
#include <spdlog/logger.h>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker.hpp"
#include "broker/subjects.hpp"
#include "hub/connection_registry.hpp"
#include "hub/hub.hpp"
#include "protocol/client_message.hpp"

namespace natsync {

struct NatsSettings {
  std::vector<std::string> servers;  // nats://host:port, tried in random order
  std::string subject_prefix = "natsync";
  std::string node_id;
  // Publishes buffered by nats.c while reconnecting; beyond this they fail (503).
  std::size_t reconnect_buffer_bytes = std::size_t{8} * 1024 * 1024;
  std::chrono::milliseconds heartbeat{2000};  // cluster status; a node is gone after 3 missed
};

class NatsBroker final : public Broker {
 public:
  NatsBroker(NatsSettings settings, const Hub& hub, const ConnectionRegistry& registry, spdlog::logger& log);
  ~NatsBroker() override;
  NatsBroker(const NatsBroker&) = delete;
  NatsBroker& operator=(const NatsBroker&) = delete;

  // Starts the broker thread and connects. Does not wait for NATS: if no server answers
  // yet, nats.c keeps trying and the node serves its local clients meanwhile. Throws
  // std::runtime_error for settings nats.c rejects (e.g. a malformed URL).
  void start();
  // Unsubscribes, waits for in-flight deliveries, closes. Idempotent. Call after the
  // workers stopped accepting sessions and before they are destroyed.
  void stop();

  bool publish(PublicationPtr publication) override;
  void interest_gained(Channel channel, const std::string& key, ReadyFn on_ready) override;
  void interest_lost(Channel channel, const std::string& key) override;
  void when_ready(Channel channel, const std::string& key, ReadyFn on_ready) override;
  BrokerStatus status() const override;

  // Node-to-node messages (nats_node_messages.cpp): subjects <prefix>.n.<channel>.
  void on_node_message(const std::string& channel, NodeMessageFn handler) override;
  void send_to_nodes(const std::string& channel, std::string_view body, std::function<void()> sent) override;
  bool clustered() const override { return true; }
  void on_node_request(const std::string& channel, NodeRequestFn handler) override;
  void ask_nodes(const std::string& channel, std::string_view body, std::chrono::milliseconds timeout,
                 AnswersFn done) override;
  void on_joined_cluster(std::function<void()> handler) override { joined_handler_ = std::move(handler); }
  std::vector<std::string> live_nodes(std::chrono::milliseconds within) const override;
  std::chrono::milliseconds heartbeat_interval() const override { return settings_.heartbeat; }

 private:
  enum class Kind { topic, user, all, nodes, node_message };
  // One NATS subscription. Created and looked up on the broker thread; deleted by
  // on_complete (nats.c's delivery thread) once its handler can no longer run.
  struct Interest {
    NatsBroker* owner = nullptr;
    Kind kind = Kind::topic;
    std::string key;  // topic or user id
    std::string subject;
    natsSubscription* subscription = nullptr;
    int holders = 0;  // workers with a local subscriber
    bool ready = false;
    std::vector<ReadyFn> waiting;
    bool draining = false;  // unsubscribed by a drain: destroyed once complete
    bool pattern = false;   // a topic pattern: each message's topic is its subject's tail
  };
  struct Ask;  // one ask_nodes in progress

  static void on_message(natsConnection* connection, natsSubscription* subscription, natsMsg* message,
                         void* closure);
  static void on_complete(void* closure);
  static void on_answer(natsConnection* connection, natsSubscription* subscription, natsMsg* message,
                        void* closure);
  static void on_ask_complete(void* closure);
  static void on_connected(natsConnection* connection, void* closure);
  static void on_disconnected(natsConnection* connection, void* closure);
  static void on_reconnected(natsConnection* connection, void* closure);
  static void on_closed(natsConnection* connection, void* closure);
  static void on_control_connected(natsConnection* connection, void* closure);
  static void on_control_closed(natsConnection* connection, void* closure);
  static void on_error(natsConnection* connection, natsSubscription* subscription, natsStatus status,
                       void* closure);

  static Kind kind_of(Channel channel);
  static Kind kind_of(Publication::Target target);
  std::string subject_for(Kind kind, const std::string& key) const;
  // Broker thread only.
  Interest* subscribe(Kind kind, const std::string& key);
  void unsubscribe(Interest* interest);
  void schedule_flush();
  void flush();
  void schedule_heartbeat();
  void publish_heartbeat();
  // Delivery thread.
  void deliver(Interest& interest, natsMsg* message);
  void deliver_node_message(const Interest& interest, natsMsg* message);
  // Broker thread: ends an ask (its answers go to `done`) and its inbox subscription.
  void finish_ask(Ask& ask);
  // Broker thread: destroys the drained subscriptions that completed.
  void destroy_drained();
  void record_heartbeat(std::string_view body);

  NatsSettings settings_;
  SubjectMap subjects_;
  const Hub& hub_;
  const ConnectionRegistry& registry_;
  spdlog::logger& log_;

  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
  // The node channels' connection (<prefix>.n.*), with echo: a node gets its own
  // messages too, in NATS's order among everyone's (broker.hpp).
  natsOptions* control_options_ = nullptr;
  natsConnection* control_ = nullptr;
  std::atomic<bool> control_connected_{false};
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> publish_failures_{0};
  std::atomic<std::uint64_t> received_{0};  // topic, user and broadcast messages from NATS

  boost::asio::io_context io_context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer heartbeat_timer_;
  std::thread thread_;

  // Broker thread only.
  boost::unordered_flat_map<std::string, Interest*> interests_;  // by subject
  std::vector<Interest*> awaiting_flush_;
  bool flush_scheduled_ = false;
  std::atomic<std::size_t> subscription_count_{0};

  // Interest objects not yet completed by nats.c, and whether nats.c has delivered its
  // closed callback (its last call into this object): stop() waits for both.
  std::mutex live_mutex_;
  std::condition_variable live_changed_;
  std::size_t live_interests_ = 0;
  bool connection_closed_ = false;
  bool control_closed_ = false;
  std::vector<std::string> own_inboxes_;    // of this node's asks in progress: not answered
  std::vector<natsSubscription*> drained_;  // completed drains, to destroy
  std::string queue_group_;                 // this node's, for its topic subscriptions

  // Set before start(), read by nats.c's threads.
  boost::unordered_flat_map<std::string, NodeMessageFn> node_handlers_;
  boost::unordered_flat_map<std::string, NodeRequestFn> request_handlers_;
  std::function<void()> joined_handler_;

  // Delivery thread (one), but guarded: nats.c may run several.
  std::mutex parser_mutex_;
  MessageParser parser_;

  struct Peer {
    std::size_t connections = 0;
    std::chrono::steady_clock::time_point seen;
  };
  mutable std::mutex peers_mutex_;
  boost::unordered_flat_map<std::string, Peer> peers_;
};

}  // namespace natsync
