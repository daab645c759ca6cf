#pragma once
// One HTTP/1.1 connection: reads requests (bounded header and body), answers REST
// calls through RestApi, and hands a WebSocket upgrade on /ws/sync (or WS_ECHO_PATH)
// over to a WebSocketConnection serving a ClientSession (or an EchoHandler) on the same
// worker after the origin and credential checks. With
// TLS, it first does the TLS handshake, and the upgraded connection keeps its stream.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>

#include "limits/connection_limiter.hpp"
#include "transport/gated_socket.hpp"

namespace natsync {

class Worker;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `tls`: serve this connection over TLS with that context (null: plain HTTP).
  HttpSession(boost::asio::ip::tcp::socket socket, Worker& worker, boost::asio::ssl::context* tls = nullptr);

  void run();
  // For connections whose first request was read elsewhere (an embedding
  // application's own server): serve that request, then go on as usual.
  void run(const Request& request);

 private:
  void on_handshake(boost::system::error_code ec);
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void serve(const Request& request);
  void upgrade(const Request& request);
  // Answers an upgrade the connection limits refused (429 or 503) and closes.
  void refuse(const ConnectionLimiter::Refusal& refusal, const boost::asio::ip::address& peer,
              unsigned version);
  void send(boost::beast::http::response<boost::beast::http::string_body> response);
  void on_write(bool keep_alive, boost::system::error_code ec, std::size_t bytes);
  // Ends the connection politely (over TLS with a close_notify first).
  void close();
  // Ends it at once.
  void cut();
  boost::asio::ip::tcp::socket& socket() { return tls_ ? tls_->socket() : *plain_; }
  // Bounds the next reads and writes (and the TLS handshake): past it, the connection
  // is cut and the pending operation fails.
  void expires_after(std::chrono::steady_clock::duration timeout);
  // Runs `f` with the stream HTTP is read from and written to: TLS or plain.
  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  std::optional<boost::asio::ip::tcp::socket> plain_;  // a plain connection, or
  std::unique_ptr<TlsSocket> tls_;                     // a TLS one
  boost::asio::steady_timer deadline_;                 // see expires_after
  Worker& worker_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
};

}  // namespace natsync
