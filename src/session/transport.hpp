#pragma once
// The seam between a connection and what it serves. The transport
// (transport/WebSocketConnection: frames, reads, writes, the close handshake, teardown,
// keep-alive) tells a ConnectionHandler what happened; the handler (ClientSession, the
// JSON protocol; EchoHandler) answers through the Transport. Both run on the
// connection's worker thread only. Nothing here knows a socket, so a test drives a
// handler with a fake transport (tests/unit/session/).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "protocol/wire_frame.hpp"

namespace natsync {

class Transport {
 public:
  // Queues `frame` after what is queued; it leaves with the worker's next flush. False
  // (and not queued) when the queue would go over its bound (WS_MAX_QUEUE_BYTES plus what
  // allow_over_bound() granted): the handler decides what the peer is told. Once the
  // connection is closing, frames are dropped (true).
  virtual bool send(const Frame& frame) = 0;
  // Whether `bytes` more would fit under the bound.
  virtual bool has_room(std::size_t bytes) const = 0;
  // Lets `bytes` about to be queued go over the bound (a recovery replay, already in
  // memory). The allowance shrinks as the queue drains, so later frames count again.
  virtual void allow_over_bound(std::size_t bytes) = 0;
  virtual std::size_t queued_bytes() const = 0;
  // Drops what is queued and not yet being written, queues `notice`, and closes with
  // `code` (a slow consumer: its backlog is not worth sending).
  virtual void cut(const Frame& notice, unsigned short code) = 0;
  // Sends a close frame with `code` after what is queued. Idempotent.
  virtual void close(unsigned short code) = 0;
  // True once a close has started (or the connection ended): nothing sent now arrives.
  virtual bool closing() const = 0;
  // Nothing the peer sends is read before this: a handler answers nothing before its
  // first message (the `connect` message is first on every connection).
  virtual void start_reading() = 0;
  // The connection's owner: a handler's asynchronous work holds it weakly and does
  // nothing once it is gone.
  virtual std::weak_ptr<void> lifetime() = 0;

 protected:
  ~Transport() = default;
};

class ConnectionHandler {
 public:
  using Clock = std::chrono::steady_clock;

  // For the logs of both sides.
  virtual std::uint64_t connection_id() const = 0;
  // The upgrade's reply is queued: the connection is open.
  virtual void on_open() = 0;
  // A complete message (`text`: from text frames, else binary), read at `now`.
  virtual void on_message(std::string_view message, bool text, Clock::time_point now) = 0;
  // The worker's sweep (a few times a second), while the connection is open.
  virtual void on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall) = 0;
  // A frame of the transport's own (a ping, a pong) did not fit the queue's bound.
  virtual void on_overflow() = 0;
  // The server is stopping: tell the peer, then close.
  virtual void on_shutdown() = 0;
  // The connection ended: remove every trace of it. The last call; nothing is sent now.
  virtual void on_closed() = 0;

 protected:
  ~ConnectionHandler() = default;
};

}  // namespace natsync
