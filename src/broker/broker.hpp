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
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "hub/channel.hpp"
#include "hub/publication.hpp"

namespace natsync {

struct BrokerStatus {
  std::string name;                     // "memory" or "nats"
  bool connected = true;                // to the other nodes (always true standalone)
  std::string node_id;                  // this node, unique in the cluster
  std::size_t nodes = 1;                // nodes seen recently, this one included
  std::size_t cluster_connections = 0;  // sum of every node's open connections
  std::size_t subscriptions = 0;        // subscriptions held in the message bus
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
};

}  // namespace natsync
