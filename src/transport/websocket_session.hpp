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
// Outbound: a FIFO of shared immutable frames, written one at a time. Its byte
// size is bounded by WS_MAX_QUEUE_BYTES; overflow closes the connection as a slow
// consumer rather than growing memory or blocking the publisher.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "auth/authenticator.hpp"
#include "hub/channel.hpp"
#include "hub/subscriber.hpp"
#include "protocol/client_message.hpp"

namespace natsync {

class Worker;
struct ServerContext;

class WebSocketSession final : public Subscriber, public std::enable_shared_from_this<WebSocketSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `identity` is who the upgrade request proved to be; nullopt in JWT mode when no
  // token came with it (the client must then send "auth" within AUTH_TIMEOUT).
  WebSocketSession(boost::asio::ip::tcp::socket socket, Worker& worker, std::optional<Identity> identity);
  ~WebSocketSession();

  void run(const Request& request);

  void deliver(const Frame& frame) override;

  // Driven by the worker's sweep.
  void on_tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall);
  // Server shutdown: tell the client to reconnect elsewhere, then close 1001.
  void shut_down();

 private:
  using Stream = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;

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
  void reply(std::string text);
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
  boost::beast::flat_buffer read_buffer_;
  // Outbound FIFO: queue_[queue_head_] is being written or next. A vector with a head
  // index instead of a std::deque, whose first block alone costs 512 bytes per idle
  // connection.
  std::vector<Frame> queue_;
  std::size_t queue_head_ = 0;
  std::size_t queued_bytes_ = 0;  // bytes in queue_ not yet handed to the socket
  std::string user_id_;
  std::optional<std::chrono::system_clock::time_point> token_expires_;
  std::chrono::steady_clock::time_point last_seen_;
  std::chrono::steady_clock::time_point last_ping_;
  std::chrono::steady_clock::time_point deadline_;  // auth deadline, then close deadline
  unsigned short close_code_ = 0;
  bool authenticated_ = false;
  bool open_ = false;     // accepted, in hub/registry/sweep
  bool writing_ = false;  // an async_write is in flight
  bool pinging_ = false;  // an async_ping is in flight
  bool closing_ = false;  // close started: no more frames are queued
};

}  // namespace natsync
