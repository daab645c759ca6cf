#include "connection.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <stdexcept>

#include "wire.hpp"

namespace loadgen {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kNatsConnect =
    "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"name\":\"natsync_loadgen\"}\r\n";

// Hands `bytes` to `process` (which returns how much it consumed), after what was left
// over last time in `tail`, and keeps the new incomplete tail; no copy when there is no
// tail, which is the common case.
template <class Process>
void feed(std::string& tail, std::string_view bytes, Process process) {
  if (tail.empty()) {
    const auto used = process(bytes);
    if (used < bytes.size()) tail.assign(bytes.substr(used));
  } else {
    tail.append(bytes);
    tail.erase(0, process(std::string_view(tail)));
  }
}

}  // namespace

// Takes items off the front of `bytes` while the connection is open: `parse` returns the
// bytes an item took (0: incomplete, < 0: invalid, which fails the connection with
// `invalid`), `handle` acts on each. Returns the bytes consumed.
template <class Item, class Parse, class Handle>
std::size_t Connection::consume(std::string_view bytes, Parse parse, std::string_view invalid,
                                Handle handle) {
  std::size_t used = 0;
  while (state_ != State::closed) {
    Item item;
    const auto taken = parse(bytes.substr(used), item);
    if (taken == 0) break;
    if (taken < 0) {
      fail(invalid);
      break;
    }
    used += static_cast<std::size_t>(taken);
    handle(item);
  }
  return used;
}

Endpoint parse_endpoint(const std::string& url, const std::string& protocol) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("not a URL: " + url);
  Endpoint endpoint;
  const auto scheme = std::string(parsed->scheme());
  if (scheme == "ws") {
    endpoint.kind = protocol == "nats" ? Endpoint::Kind::nats_ws : Endpoint::Kind::natsync_ws;
  } else if (scheme == "nats") {
    endpoint.kind = Endpoint::Kind::nats_tcp;
  } else if (scheme == "http") {
    endpoint.kind = Endpoint::Kind::rest;
  } else {
    throw std::runtime_error("unsupported scheme (ws, nats, http): " + url);
  }
  endpoint.host = std::string(parsed->host());
  const auto port = parsed->port().empty() ? (scheme == "nats" ? "4222" : "80") : std::string(parsed->port());
  asio::io_context io;
  tcp::resolver resolver(io);
  endpoint.address = *resolver.resolve(endpoint.host, port).begin();
  endpoint.host += ":" + port;
  if (!parsed->encoded_path().empty()) {
    endpoint.path = std::string(parsed->encoded_path());
    if (parsed->has_query()) endpoint.path += "?" + std::string(parsed->encoded_query());
  }
  return endpoint;
}

Connection::Connection(asio::io_context& io, const Endpoint& endpoint, ConnectionEvents& events,
                       std::vector<char>& scratch, std::size_t index)
    : socket_(io), endpoint_(endpoint), events_(events), scratch_(scratch), index_(index) {}

void Connection::start(std::string user, std::string topic, const asio::ip::address& source) {
  user_ = std::move(user);
  topic_ = std::move(topic);
  boost::system::error_code ec;
  socket_.open(endpoint_.address.protocol(), ec);
  if (!ec && !source.is_unspecified()) {
    // Choose the port at connect() time, per destination, instead of reserving one
    // system-wide at bind() (IP_BIND_ADDRESS_NO_PORT): past ~10,000 connections the
    // kernel's search for a free port otherwise dominates the load generator's CPU.
    const int on = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
    socket_.bind(tcp::endpoint(source, 0), ec);
  }
  if (ec) return fail("socket: " + ec.message());
  socket_.async_connect(endpoint_.address, [self = shared_from_this()](boost::system::error_code ec2) {
    if (ec2) return self->fail("connect: " + ec2.message());
    self->on_connected();
  });
}

void Connection::on_connected() {
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  switch (endpoint_.kind) {
    case Endpoint::Kind::natsync_ws:
    case Endpoint::Kind::nats_ws: {
      state_ = State::upgrading;
      auto path = endpoint_.path;
      if (endpoint_.kind == Endpoint::Kind::natsync_ws) {
        path += (path.find('?') == std::string::npos ? "?user_id=" : "&user_id=") + user_;
      }
      send(websocket_upgrade_request(endpoint_.host, path));
      break;
    }
    case Endpoint::Kind::nats_tcp: on_open(); break;
    case Endpoint::Kind::rest: became_ready(); break;
  }
  wait_readable();
}

void Connection::on_open() {
  state_ = State::opening;
  if (endpoint_.kind == Endpoint::Kind::natsync_ws) {
    if (topic_.empty()) {
      became_ready();
    } else {
      send_message(R"({"type":"subscribe","topic":")" + topic_ + R"(","id":1})");
    }
    return;
  }
  // NATS: CONNECT [SUB] PING; the PONG says the server has applied what came before.
  std::string ops(kNatsConnect);
  if (!topic_.empty()) ops += "SUB " + topic_ + " 1\r\n";
  ops += "PING\r\n";
  send_message(ops);
}

void Connection::became_ready() {
  if (state_ == State::ready) return;
  state_ = State::ready;
  if (events_.ready) events_.ready(*this);
}

void Connection::wait_readable() {
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return;  // closed
    self->on_readable();
  });
}

void Connection::on_readable() {
  for (;;) {
    boost::system::error_code ec;
    const auto n = socket_.read_some(asio::buffer(scratch_), ec);
    if (ec == asio::error::would_block) break;
    if (ec) {
      if (state_ != State::closed)
        fail(ec == asio::error::eof ? "closed by server" : "read: " + ec.message());
      return;
    }
    feed(inbox_, std::string_view(scratch_.data(), n),
         [this](std::string_view bytes) { return process(bytes); });
    if (state_ == State::closed) return;
    if (n < scratch_.size()) break;
  }
  wait_readable();
}

std::size_t Connection::process(std::string_view bytes) {
  std::size_t used = 0;
  while (used < bytes.size() && state_ != State::closed) {
    const auto rest = bytes.substr(used);
    std::size_t step = 0;
    if (state_ == State::upgrading) {
      HttpResponse response;
      if (!parse_http_response(rest, response)) break;
      if (response.status != 101) {
        fail("upgrade refused with HTTP " + std::to_string(response.status));
        break;
      }
      step = response.size;
      on_open();
    } else if (endpoint_.kind == Endpoint::Kind::rest) {
      step = process_rest(rest);
    } else if (endpoint_.kind == Endpoint::Kind::nats_tcp) {
      step = process_nats(rest);
    } else {
      step = process_frames(rest);
    }
    if (step == 0) break;
    used += step;
  }
  return used;
}

std::size_t Connection::process_frames(std::string_view bytes) {
  return consume<ServerFrame>(bytes, parse_server_frame, "invalid WebSocket frame from server",
                              [this](const ServerFrame& frame) {
                                switch (frame.opcode) {
                                  case 9: {  // ping -> pong with the same payload
                                    std::string pong;
                                    append_client_frame(pong, frame.payload, true, 10);
                                    send(pong);
                                    break;
                                  }
                                  case 10: break;
                                  case 8: fail("server sent close"); break;
                                  default:
                                    if (!frame.fin || !fragments_.empty()) {
                                      fragments_.append(frame.payload);
                                      if (frame.fin) {
                                        const std::string message = std::move(fragments_);
                                        fragments_.clear();
                                        on_message(message);
                                      }
                                    } else {
                                      on_message(frame.payload);
                                    }
                                }
                              });
}

void Connection::on_message(std::string_view message) {
  if (endpoint_.kind == Endpoint::Kind::nats_ws) {
    // NATS protocol operations may span frames.
    feed(nats_stream_, message, [this](std::string_view bytes) { return process_nats(bytes); });
    return;
  }
  if (message.starts_with(R"({"type":"data")")) {
    if (events_.delivery) events_.delivery(*this, message, now_ns());
  } else if (state_ == State::opening && message.starts_with(R"({"type":"subscribe")")) {
    became_ready();
  } else if (message.starts_with(R"({"type":"error")")) {
    fail(message);
  }
}

std::size_t Connection::process_nats(std::string_view bytes) {
  return consume<NatsOp>(bytes, parse_nats_op, "unknown NATS operation", [this](const NatsOp& op) {
    switch (op.kind) {
      case NatsOp::Kind::msg:
        if (events_.delivery) events_.delivery(*this, op.payload, now_ns());
        break;
      case NatsOp::Kind::ping: send_message("PONG\r\n"); break;
      case NatsOp::Kind::pong: became_ready(); break;
      case NatsOp::Kind::err: fail(op.payload); break;
      case NatsOp::Kind::ok:
      case NatsOp::Kind::info: break;
    }
  });
}

std::size_t Connection::process_rest(std::string_view bytes) {
  std::size_t used = 0;
  HttpResponse response;
  while (parse_http_response(bytes.substr(used), response)) {
    used += response.size;
    ++rest_replies_;
    if (response.status != 200) ++rest_errors_;
  }
  return used;
}

void Connection::publish(std::string_view topic, std::string_view payload) {
  switch (endpoint_.kind) {
    case Endpoint::Kind::natsync_ws: {
      std::string message;
      message.reserve(48 + topic.size() + payload.size());
      message.append(R"({"type":"sync","topic":")").append(topic).append(R"(","data":)").append(payload);
      message.push_back('}');
      send_message(message);
      break;
    }
    case Endpoint::Kind::nats_ws:
    case Endpoint::Kind::nats_tcp: {
      std::string op = "PUB ";
      op.append(endpoint_.subject_prefix).append(topic).append(" ").append(std::to_string(payload.size()));
      op.append("\r\n").append(payload).append("\r\n");
      send_message(op);
      break;
    }
    case Endpoint::Kind::rest: {
      std::string body;
      body.append(R"({"topic":")").append(topic).append(R"(","data":)").append(payload).push_back('}');
      std::string request =
          "POST /api/sync/publish HTTP/1.1\r\nHost: " + endpoint_.host +
          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
      if (!endpoint_.api_key.empty()) request += "X-API-Key: " + endpoint_.api_key + "\r\n";
      request += "\r\n" + body;
      send(request);
      break;
    }
  }
}

void Connection::subscribe(std::string topic) {
  topic_ = std::move(topic);
  state_ = State::opening;
  if (endpoint_.kind == Endpoint::Kind::natsync_ws) {
    send_message(R"({"type":"subscribe","topic":")" + topic_ + R"(","id":2})");
  } else {
    send_message("SUB " + topic_ + " 2\r\nPING\r\n");
  }
}

void Connection::send_message(std::string_view message) {
  if (endpoint_.kind == Endpoint::Kind::natsync_ws || endpoint_.kind == Endpoint::Kind::nats_ws) {
    append_client_frame(outbox_, message, endpoint_.kind == Endpoint::Kind::nats_ws);
    if (!writing_) do_write();
    return;
  }
  send(message);
}

void Connection::send(std::string_view bytes) {
  outbox_.append(bytes);
  if (!writing_) do_write();
}

void Connection::do_write() {
  if (outbox_.empty() || state_ == State::closed) return;
  writing_ = true;
  in_flight_.swap(outbox_);
  outbox_.clear();
  asio::async_write(socket_, asio::buffer(in_flight_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return self->fail("write: " + ec.message());
                      self->do_write();
                    });
}

void Connection::close() {
  state_ = State::closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void Connection::fail(std::string_view why) {
  if (state_ == State::closed) return;
  close();
  if (events_.failed) events_.failed(*this, why);
}

}  // namespace loadgen
