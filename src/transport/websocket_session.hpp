#pragma once
// One client on /ws/sync: reads its messages, applies them, and writes what it is
// sent. Lives on one worker thread (see worker.hpp); all members run there.
//
// Life: run() accepts the upgrade -> open (in the hub, the registry and the
// worker's sweep) -> a close starts (client "disconnect", error, slow consumer,
// shutdown, deadline) -> the read loop ends -> detach() removes every trace.
// detach() runs only from a completion handler or the destructor, never while the
// LocalHub is iterating (see subscriber.hpp).
//
// Outbound: a FIFO of shared frames, encoded and framed once for every recipient
// (WireFrame). Queuing does not write: the session asks its worker for a flush, which
// runs after the worker's other ready handlers, so the frames of every publication the
// worker handled in between leave in one gather write (corking). Its byte size is
// bounded by WS_MAX_QUEUE_BYTES; overflow closes the connection as a slow consumer
// rather than growing memory or blocking the publisher.
#include <array>
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
#include "hub/channel.hpp"
#include "hub/subscriber.hpp"
#include "protocol/client_message.hpp"
#include "transport/gated_socket.hpp"
#include "transport/outbound_queue.hpp"

namespace natsync {

class Worker;
struct ServerContext;

class WebSocketSession final : public Subscriber,
                               public GatedSocket::Listener,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `identity` is who the upgrade request proved to be; nullopt in JWT mode when no
  // token came with it (the client must then send "auth" within AUTH_TIMEOUT).
  WebSocketSession(boost::asio::ip::tcp::socket socket, Worker& worker, std::optional<Identity> identity);
  ~WebSocketSession();

  void run(const Request& request);

  void deliver(const Frame& frame) override;
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

  void on_accept(boost::system::error_code ec);
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void handle(ClientMessage& message);
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
  void request_flush();
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  // Sends a close frame after what is queued; the peer gets `close_deadline` to answer.
  void close(unsigned short code);
  // Cuts the TCP connection at once (dead peer, missed close deadline).
  void abort(std::string_view why);
  void detach();

  const ServerContext& context() const;

  Stream ws_;
  Worker& worker_;
  // Reads go through a small chunk into message_: a pending read holds only the chunk,
  // where async_read would hold a 1.5 KiB buffer on every idle connection.
  std::array<char, 128> read_chunk_{};
  std::string message_;  // the client message being received
  OutboundQueue outbound_;
  std::string user_id_;
  std::optional<std::chrono::system_clock::time_point> token_expires_;
  std::chrono::steady_clock::time_point last_seen_;
  std::chrono::steady_clock::time_point last_ping_;
  std::chrono::steady_clock::time_point deadline_;  // auth deadline, then close deadline
  unsigned short close_code_ = 0;
  bool authenticated_ = false;
  bool open_ = false;             // accepted, in hub/registry/sweep
  bool flush_requested_ = false;  // in the worker's flush list
  bool close_sent_ = false;       // async_close started
  bool closing_ = false;          // close started: no more frames are queued
};

}  // namespace natsync
