#pragma once
// One HTTP/1.1 connection: reads requests (bounded header and body), answers REST
// calls through RestApi, and hands a WebSocket upgrade on /ws/sync over to a
// WebSocketSession on the same worker after the origin and credential checks.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>

#include <optional>
#include "limits/connection_limiter.hpp"

namespace natsync {

class Worker;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  HttpSession(boost::asio::ip::tcp::socket socket, Worker& worker);

  void run();
  // For connections whose first request was read elsewhere (an embedding
  // application's own server): serve that request, then go on as usual.
  void run(const Request& request);

 private:
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void serve(const Request& request);
  void upgrade(const Request& request);
  // Answers an upgrade the connection limits refused (429 or 503) and closes.
  void refuse(const ConnectionLimiter::Refusal& refusal, const boost::asio::ip::address& peer,
              unsigned version);
  void send(boost::beast::http::response<boost::beast::http::string_body> response);
  void on_write(bool keep_alive, boost::system::error_code ec, std::size_t bytes);
  void close();

  boost::beast::tcp_stream stream_;
  Worker& worker_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
};

}  // namespace natsync
