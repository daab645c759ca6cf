#pragma once
// Carries publications between natsync nodes. Every publication on a plain topic, to a
// user or to everyone goes through the broker, which delivers it to this node's hub and
// to every other node; so the standalone and the multi-node paths are one path, and
// only this class differs. Durable topics are the exception in a cluster: their
// messages are stored in JetStream and reach each node's hub from that node's
// JetStream consumer (history/jetstream_history.hpp), not through this class.
// (Standalone, MemoryHistory numbers them and then publishes them here.)
//
// Interest: a worker tells the broker when its first local subscriber of a topic (or
// first connection of a user) appears and when its last one leaves, so a multi-node
// broker subscribes between nodes only to what some local connection wants. The
// `on_ready` callbacks say when cross-node delivery for a key is in place: a
// subscribe ack is sent only then, so "acked" means "receives what any node
// publishes from now on". They may run on any thread, possibly before the call returns.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/channel.hpp"
#include "hub/publication.hpp"

namespace natsync {

// Another node this one has heard from (its heartbeats).
struct PeerNode {
  std::string node_id;
  std::size_t connections = 0;    // as its last heartbeat said
  std::int64_t last_seen_ms = 0;  // since that heartbeat
  bool alive = true;              // heard within 3 heartbeat intervals
};

struct BrokerStatus {
  std::string name;                     // "memory" or "nats"
  bool connected = true;                // to the other nodes (always true standalone)
  std::string node_id;                  // this node, unique in the cluster
  std::size_t nodes = 1;                // nodes seen recently, this one included
  std::size_t cluster_connections = 0;  // sum of every node's open connections
  std::size_t subscriptions = 0;        // subscriptions held in the message bus
  std::uint64_t received = 0;           // publications other nodes sent that reached this one
  std::uint64_t publish_errors = 0;     // publications NATS did not take (REST answered 503)
  std::vector<PeerNode> peers;          // the other nodes seen since start, by id
};

class Broker {
 public:
  using ReadyFn = std::function<void()>;
  virtual ~Broker() = default;

  // Thread-safe, never blocks on the network. Local delivery always happens; returns
  // false when the publication could not be handed to the other nodes (the caller
  // reports that: REST answers 503).
  virtual bool publish(PublicationPtr publication) = 0;

  // Thread-safe. gained/lost are called once per worker per key transition.
  virtual void interest_gained(Channel channel, const std::string& key, ReadyFn on_ready) = 0;
  virtual void interest_lost(Channel channel, const std::string& key) = 0;
  // For a key the caller's worker already has interest in: runs on_ready once the
  // broker's subscription for it is in place (at once if it already is).
  virtual void when_ready(Channel channel, const std::string& key, ReadyFn on_ready) = 0;

  virtual BrokerStatus status() const = 0;

  // Messages between natsync nodes of natsync's own (presence, the server API), on
  // `channel` (a subject token). Handlers are set before the broker starts and run on a
  // broker thread. A message sent reaches every node, **this one included**, and every
  // node sees the messages of one channel in one order (NATS's): so two commands sent
  // one after the other through two nodes are applied in that order everywhere.
  // Standalone, the handler runs at once, on the caller's thread. `sent` (optional) runs
  // once the message is with NATS (a flush), from any thread.
  using NodeMessageFn = std::function<void(std::string_view body)>;
  // A request's handler answers by calling `answer` once (from any thread, also later).
  using AnswerFn = std::function<void(std::string answer)>;
  using NodeRequestFn = std::function<void(std::string_view body, AnswerFn answer)>;
  using AnswersFn = std::function<void(std::vector<std::string> answers)>;
  virtual void on_node_message(const std::string& channel, NodeMessageFn handler) = 0;
  virtual void send_to_nodes(const std::string& channel, std::string_view body,
                             std::function<void()> sent = {}) = 0;
  // Whether there are other nodes to tell (false standalone: nothing need be sent).
  virtual bool clustered() const { return false; }
  virtual void on_node_request(const std::string& /*channel*/, NodeRequestFn /*handler*/) {}
  // Asks every other node (not this one); `done` gets the answers that came back, once
  // every node that is alive answered or `timeout` passed (at once, with none,
  // standalone). Any thread.
  virtual void ask_nodes(const std::string& /*channel*/, std::string_view /*body*/,
                         std::chrono::milliseconds /*timeout*/, AnswersFn done) {
    done({});
  }
  // `handler` runs (on a broker thread) each time this node (re)connects to the other
  // nodes: what they know of it may be stale. Set before start.
  virtual void on_joined_cluster(std::function<void()> /*handler*/) {}
  // The other nodes whose heartbeat arrived within `within`.
  virtual std::vector<std::string> live_nodes(std::chrono::milliseconds /*within*/) const { return {}; }
  // How often nodes send their heartbeat (what "within" is measured in).
  virtual std::chrono::milliseconds heartbeat_interval() const { return std::chrono::milliseconds(2000); }
};

}  // namespace natsync
