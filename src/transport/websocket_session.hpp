#pragma once
// One client on /ws/sync: reads its messages, applies them, and writes what it is
// sent. Lives on one worker thread (see worker.hpp); all members run there.
//
// Life: run() answers the upgrade -> open (in the hub, the registry and the worker's
// sweep) -> a close starts (client "disconnect" or close frame, protocol error, slow
// consumer, shutdown, deadline) -> the close handshake and TCP teardown -> detach()
// removes every trace. detach() runs only from a completion handler or the destructor,
// never while the LocalHub is iterating (see subscriber.hpp).
//
// Inbound: once the socket is readable, what it has is read into the worker's buffer and
// parsed by a FrameParser (RFC 6455 rules, about 100 bytes of state), so an idle
// connection holds no read buffer and no WebSocket library state. A connection that
// negotiates permessage-deflate is served by Beast's websocket::stream instead
// (`deflate_`), which owns the compression state.
//
// Outbound: a FIFO of shared frames, encoded and framed once for every recipient
// (WireFrame). Queuing does not write: the session asks its worker for a flush, which
// runs after the worker's other ready handlers, so the frames of every publication the
// worker handled in between leave in one gather write (corking). Its byte size is
// bounded by WS_MAX_QUEUE_BYTES; overflow closes the connection as a slow consumer
// rather than growing memory or blocking the publisher. Pongs and the close frame go
// through the same queue, so they never overtake a frame queued before them.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "history/history.hpp"
#include "hub/channel.hpp"
#include "hub/subscriber.hpp"
#include "limits/connection_limiter.hpp"
#include "limits/token_bucket.hpp"
#include "protocol/client_message.hpp"
#include "transport/frame_parser.hpp"
#include "transport/gated_socket.hpp"
#include "transport/outbound_queue.hpp"

namespace natsync {

class Worker;
struct ServerContext;

// What a WebSocket connection serves. Both run on the same transport code (framing,
// limits, UTF-8 checks, keep-alive); only what a complete message does differs.
enum class Endpoint {
  sync,  // /ws/sync: the JSON protocol (docs/protocol.md)
  echo,  // WS_ECHO_PATH: every text and binary message comes back (a conformance aid)
};

class WebSocketSession final : public Subscriber,
                               public GatedSocket::Listener,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `identity` is who the upgrade request proved to be; nullopt in JWT mode when no
  // token came with it (the client must then send "auth" within AUTH_TIMEOUT).
  WebSocketSession(GatedSocket socket, Worker& worker, Endpoint endpoint, std::optional<Identity> identity,
                   ConnectionLimiter::Ticket ticket);
  ~WebSocketSession();

  // Answers the upgrade `request` (checked by check_upgrade, which gave `accept_key`).
  // `pipelined`: bytes read behind the request, the start of the first frames.
  void run(const Request& request, std::string_view accept_key, std::string pipelined = {});

  void deliver(const Frame& frame) override;
  void deliver_offset(const Publication& publication) override;
  // Writes what deliver() queued (run by the worker's flush).
  void flush();
  void on_socket_free() override;

  // Driven by the worker's sweep.
  void on_tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall);
  // Server shutdown: tell the client to reconnect elsewhere, then close 1001.
  void shut_down();
  // Server stopped: cut the connection now.
  void terminate() { abort("server stopped"); }

 private:
  using Stream = boost::beast::websocket::stream<GatedSocket>;

  // Beast answered the upgrade of a permessage-deflate connection.
  void on_accept(boost::system::error_code ec);
  // The 101 is queued: the connection is open.
  void open();
  void do_read();
  // Frames through the FrameParser (connections without permessage-deflate): wait until
  // the socket is readable, then read what it has into the worker's buffer and parse it.
  void read_frames();
  void on_readable(boost::system::error_code ec);
  void read_available();
  // What the parser found; false when reading must stop (the connection is closing).
  bool on_frame_event(FrameParser::Event event);
  // Messages through Beast (permessage-deflate).
  void read_compressed();
  void on_read_compressed(boost::system::error_code ec, std::size_t bytes);
  bool got_text() const { return deflate_ ? deflate_->got_text() : parser_.text(); }
  // A complete message is in message_: handles it (unless closing), then empties the buffer.
  void finish_message();
  void on_message();
  // The peer's connection ended (read error or end of stream): detach.
  void ended(const boost::system::error_code& ec);
  void handle(ClientMessage& message);
  // WS_MESSAGE_RATE: false (and the client told, or cut off) when the message with
  // `request_id` is over it.
  bool within_rate(std::string_view request_id);
  void handle_subscribe(const ClientMessage& message);
  // The subscription is in place: ack it and, on a durable topic, ask the history where
  // its stream stands and what the client missed since `since` (finish_recovery).
  void acknowledge_subscribe(const std::string& topic, const std::string& request_id,
                             const std::optional<StreamPosition>& since);
  // The history answered: the ack, the replay, then the live messages held meanwhile;
  // or, if it could not answer, a broker_unavailable error and no subscription.
  void finish_recovery(const std::string& topic, const std::string& request_id, bool asked_since,
                       Recovery recovery);
  // A client "sync" into a durable topic: acked (or refused) once it is stored.
  void sync_durable(ClientMessage& message);
  // Ends this connection's subscription to `topic` (its held messages too).
  void leave_topic(const std::string& topic);
  // After a re-authentication: ends the subscriptions the new token no longer allows,
  // telling the client with an unsolicited "unsubscribe" for each.
  void drop_forbidden_subscriptions();
  void handle_auth(const ClientMessage& message);
  // Joins the worker's hub under `user` (once authenticated) and runs `then` when the
  // broker delivers to that user from every node.
  void join_hub(std::function<void(WebSocketSession&)> then);
  // Tells the broker about `key` (gained when it just appeared on this worker) and runs
  // `then` on this worker once the broker delivers it from every node.
  void after_broker(Channel channel, const std::string& key, bool key_appeared,
                    std::function<void(WebSocketSession&)> then);
  // A broker ReadyFn that runs `fn` on this session's worker if it is still open.
  std::function<void()> on_worker(std::function<void(WebSocketSession&)> fn);
  void reply(std::string_view text);
  // Over WS_MAX_QUEUE_BYTES: tells the client `slow_consumer` and closes.
  void cut_slow_consumer(std::size_t queued_bytes);
  void request_flush();
  void do_write();
  // Hands the next batch of queued frames to the socket.
  void write_batch();
  // permessage-deflate: the next queued frame through Beast, which compresses it for
  // this connection (one message per write: the frames cannot be shared).
  void write_compressed();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  // Sends a close frame after what is queued; the peer gets `close_deadline` to answer.
  void close(unsigned short code);
  // Both close frames are out (or the connection failed and ours is): ends the TCP
  // connection the way a server must (GatedSocket::async_teardown), then detaches.
  void tear_down();
  // Cuts the TCP connection at once (dead peer, missed close deadline).
  void abort(std::string_view why);
  GatedSocket& socket() { return deflate_ ? deflate_->next_layer() : socket_; }
  void detach();

  const ServerContext& context() const;

  GatedSocket socket_;               // moved into deflate_ when that is made
  std::unique_ptr<Stream> deflate_;  // only for a connection with permessage-deflate
  FrameParser parser_;
  Worker& worker_;
  std::string message_;         // the client message being received
  std::size_t tail_start_ = 0;  // permessage-deflate: Beast is reading into message_ from here
  OutboundQueue outbound_;
  std::string user_id_;
  SharedPermissions permissions_;  // what this connection may subscribe to and sync into
  // Durable topics just subscribed to: messages up to this offset of this epoch were
  // in the replay or before it, so their live copies are dropped (until a later one).
  // While the history has not answered yet (`recovering`), live messages wait in `held`:
  // the replay goes first.
  struct HeldMessage {
    std::uint64_t offset = 0;
    std::string epoch{};
    Frame frame{};
  };
  struct OffsetFloor {
    std::string topic;
    StreamPosition position{};
    bool recovering = false;
    std::vector<HeldMessage> held{};
    std::size_t held_bytes = 0;
  };
  std::unique_ptr<std::vector<OffsetFloor>> offset_floors_;
  OffsetFloor* find_offset_floor(std::string_view topic);
  OffsetFloor& add_offset_floor(const std::string& topic);
  void erase_offset_floor(const OffsetFloor* floor);
  ConnectionLimiter::Ticket ticket_;  // this connection's places under the connection limits
  TokenBucket inbound_;               // WS_MESSAGE_RATE
  std::uint32_t refused_in_row_ = 0;  // messages refused by inbound_ since the last accepted
  // Bytes of recovery replays still queued, allowed over WS_MAX_QUEUE_BYTES: a replay is
  // in memory already (the history's answer), and cutting the client for its size would
  // make a long absence impossible to recover from. Shrinks as the queue drains.
  std::uint32_t replay_allowance_ = 0;
  std::optional<std::chrono::system_clock::time_point> token_expires_;
  std::chrono::steady_clock::time_point last_seen_;
  std::chrono::steady_clock::time_point last_ping_;
  std::chrono::steady_clock::time_point deadline_;  // auth deadline, then close deadline
  unsigned short close_code_ = 0;
  Endpoint endpoint_;
  bool authenticated_ = false;
  bool open_ = false;             // accepted, in hub/registry/sweep
  bool flush_requested_ = false;  // in the worker's flush list
  bool close_sent_ = false;       // our close frame is queued (or Beast's async_close started)
  bool closing_ = false;          // close started: no more frames are queued
  bool peer_closed_ = false;      // no more frames from the peer: its close came, or it failed
  bool tearing_down_ = false;     // tear_down() started
};

}  // namespace natsync
