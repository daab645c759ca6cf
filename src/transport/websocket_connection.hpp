#pragma once
// One WebSocket connection after its upgrade: the transport under a ConnectionHandler
// (ClientSession on /ws/sync, EchoHandler on WS_ECHO_PATH). Lives on one worker thread
// (see worker.hpp); all members run there.
//
// State: opening (the upgrade is being answered) -> open -> closing (a close started:
// nothing more is queued; our close frame follows what is) -> close_sent -> tearing_down
// (both closes done: GatedSocket::async_teardown) -> ended (out of the worker's sweep;
// the handler has been told). A connection is cut (abort) when the peer is silent past
// WS_PONG_WAIT or misses the close deadline, when a write fails and when the server stops;
// every way ends in end(), which runs once, from a completion handler or the destructor,
// never while the LocalHub is iterating (see subscriber.hpp).
//
// Inbound: once the socket is readable, what it has is read into the worker's buffer and
// parsed by a FrameParser (RFC 6455 rules, about 100 bytes of state), so an idle
// connection holds no read buffer and no WebSocket library state. A connection that
// negotiates permessage-deflate reads and writes through PermessageDeflate instead.
//
// Outbound: a FIFO of shared frames, encoded and framed once for every recipient
// (WireFrame). Queuing does not write: the connection asks its worker for a flush, which
// runs after the worker's other ready handlers, so the frames of every publication the
// worker handled in between leave in one gather write (corking). Its byte size is
// bounded by WS_MAX_QUEUE_BYTES (send() refuses past it; the handler decides what the
// client is told). Pongs, pings and the close frame go through the same queue, so they
// never overtake a frame queued before them.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "session/transport.hpp"
#include "transport/frame_parser.hpp"
#include "transport/gated_socket.hpp"
#include "transport/outbound_queue.hpp"

namespace natsync {

class Worker;
class PermessageDeflate;
struct ServerContext;

class WebSocketConnection : public Transport,
                            public GatedSocket::Listener,
                            public std::enable_shared_from_this<WebSocketConnection> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Clock = std::chrono::steady_clock;

  WebSocketConnection(GatedSocket socket, Worker& worker);
  virtual ~WebSocketConnection();
  WebSocketConnection(const WebSocketConnection&) = delete;
  WebSocketConnection& operator=(const WebSocketConnection&) = delete;

  // Answers the upgrade `request` (checked by check_upgrade, which gave `accept_key`).
  // `pipelined`: bytes read behind the request, the start of the first frames.
  void run(const Request& request, std::string_view accept_key, std::string pipelined = {});

  // Writes what was queued (run by the worker's flush).
  void flush();
  void on_socket_free() override;
  // Driven by the worker's sweep: keep-alive, the pong wait, the close deadline, and the
  // handler's own deadlines.
  void on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall);
  // Server shutdown: the handler says goodbye and closes (1001).
  void shut_down();
  // Server stopped: cut the connection now.
  void terminate() { abort("server stopped"); }

  // Transport
  bool send(const Frame& frame) override;
  bool has_room(std::size_t bytes) const override;
  void allow_over_bound(std::size_t bytes) override;
  std::size_t queued_bytes() const override { return outbound_.bytes(); }
  void cut(const Frame& notice, unsigned short code) override;
  void close(unsigned short code) override;
  bool closing() const override { return state_ != State::open; }
  void start_reading() override;
  std::weak_ptr<void> lifetime() override { return weak_from_this(); }

 protected:
  // Ends the connection (see above). The class that owns the handler calls it from its
  // destructor, while the handler still exists; a no-op when already ended.
  void end();

 private:
  enum class State : std::uint8_t { opening, open, closing, close_sent, tearing_down, ended };

  virtual ConnectionHandler& handler() = 0;
  const ServerContext& context() const;

  // Permessage-deflate: Beast answered the upgrade.
  void on_accept(boost::system::error_code ec);
  // The 101 is queued: the connection is open.
  void open();
  void do_read();
  // Frames through the FrameParser: wait until the socket is readable, then read what
  // it has into the worker's buffer and parse it.
  void wait_readable();
  void read_available();
  // What the parser found; false when reading must stop (the connection is closing).
  bool on_frame_event(FrameParser::Event event);
  // Messages through PermessageDeflate.
  void read_compressed();
  void on_read_compressed(boost::system::error_code ec, bool message_done);
  bool got_text() const;
  // A complete message is in message_: handed over (unless closing), then the buffer emptied.
  void finish_message();
  // The peer's connection ended (read error or end of stream).
  void ended(const boost::system::error_code& ec);
  // A frame of our own (pong, ping): over the bound, the handler decides.
  void send_own(const Frame& frame);
  // Starts closing with `code` (from open; from opening too, for a protocol error).
  void start_close(unsigned short code);
  void request_flush();
  void do_write();
  void write_compressed();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  // Both close frames are out (or the connection failed and ours is): ends the TCP
  // connection the way a server must (GatedSocket::async_teardown), then end().
  void tear_down();
  // Cuts the TCP connection at once (dead peer, missed close deadline, server stopped).
  void abort(std::string_view why);
  GatedSocket& socket();

  GatedSocket socket_;                          // moved into deflate_ when that is made
  std::unique_ptr<PermessageDeflate> deflate_;  // only for a connection with permessage-deflate
  FrameParser parser_;
  Worker& worker_;
  std::string message_;  // the client message being received
  OutboundQueue outbound_;
  Clock::time_point last_seen_;
  Clock::time_point last_ping_;
  Clock::time_point close_deadline_;
  // Bytes of recovery replays still queued, allowed over WS_MAX_QUEUE_BYTES: a replay is
  // in memory already (the history's answer), and cutting the client for its size would
  // make a long absence impossible to recover from. Shrinks as the queue drains.
  std::uint32_t replay_allowance_ = 0;
  unsigned short close_code_ = 0;
  State state_ = State::opening;
  bool flush_requested_ = false;  // in the worker's flush list
  bool peer_closed_ = false;      // no more frames from the peer: its close came, or it failed
};

// A connection and the handler it serves, in one allocation.
template <class Handler>
class HandledConnection final : public WebSocketConnection {
 public:
  template <class... Args>
  HandledConnection(GatedSocket socket, Worker& worker, Args&&... args)
      : WebSocketConnection(std::move(socket), worker), handler_(*this, std::forward<Args>(args)...) {}
  ~HandledConnection() override { end(); }
  HandledConnection(const HandledConnection&) = delete;
  HandledConnection& operator=(const HandledConnection&) = delete;

 private:
  ConnectionHandler& handler() override { return handler_; }
  Handler handler_;
};

}  // namespace natsync
