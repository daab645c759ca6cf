#pragma once
// What the hub knows of a connection: an id and a way to hand it a frame. The
// WebSocket session implements it; tests implement it with a recorder.
#include <cstdint>

#include "hub/publication.hpp"
#include "hub/server_command.hpp"
#include "protocol/server_message.hpp"

namespace natsync {

class Subscriber {
 public:
  explicit Subscriber(std::uint64_t id) : id_(id) {}
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  std::uint64_t id() const { return id_; }

  // Queues `frame` for sending. Called on the subscriber's own worker thread while
  // the LocalHub iterates its index, so it must not add to or remove from any
  // LocalHub synchronously (defer such work with a post).
  virtual void deliver(const Frame& frame) = 0;
  // A message of a durable topic (publication.offset != 0), which a subscriber that
  // recovered the topic's history may already have had.
  virtual void deliver_offset(const Publication& publication) { deliver(publication.frame); }
  // The server API acts on this connection (its user's). On the subscriber's own
  // thread, not during a delivery: it may change the LocalHub.
  virtual void on_server_command(const ServerCommand& /*command*/) {}

 protected:
  ~Subscriber() = default;

 private:
  std::uint64_t id_;
};

}  // namespace natsync
