#include "transport/http_session.hpp"

#include "logging/log_event.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>

#include "session/client_session.hpp"
#include "transport/echo_handler.hpp"
#include "transport/handshake.hpp"
#include "transport/websocket_connection.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// An idle keep-alive connection, or a client trickling its request, is cut after this.
constexpr auto kHttpTimeout = std::chrono::seconds(30);
// A TLS handshake must be done within this (a scanner or a stalled client holds a
// descriptor and an OpenSSL session until then).
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);
// How long a closing TLS connection waits for the peer's close_notify.
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(5);
constexpr std::string_view kSyncPath = "/ws/sync";

struct QueryCredentials {
  std::string path;
  std::string token;
  std::string user_id;
};

std::optional<QueryCredentials> read_target(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  QueryCredentials out;
  out.path = url->path();
  for (const auto& param : url->params()) {
    if (param.key == "token") out.token = param.value;
    if (param.key == "user_id") out.user_id = param.value;
  }
  return out;
}

}  // namespace

HttpSession::HttpSession(boost::asio::ip::tcp::socket socket, Worker& worker, boost::asio::ssl::context* tls)
    : deadline_(socket.get_executor()), worker_(worker) {
  if (tls != nullptr) {
    tls_ = std::make_unique<TlsSocket>(std::move(socket), tls->native_handle());
  } else {
    plain_.emplace(std::move(socket));
  }
}

void HttpSession::run() {
  if (!tls_) {
    do_read();
    return;
  }
  expires_after(kTlsHandshakeTimeout);
  tls_->async_handshake(beast::bind_front_handler(&HttpSession::on_handshake, shared_from_this()));
}

void HttpSession::on_handshake(boost::system::error_code ec) {
  if (ec) {
    // Scanners, plain HTTP on the TLS port, clients that distrust the certificate:
    // common and harmless, so debug only.
    worker_.context().log.debug("tls handshake failed: {}", ec.message());
    cut();
    return;
  }
  do_read();
}

void HttpSession::run(const Request& request) { serve(request); }

void HttpSession::do_read() {
  const auto& config = worker_.context().config;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(config.http_max_header_size));
  parser_->body_limit(config.http_max_body_size);
  expires_after(kHttpTimeout);
  with_stream([this](auto& stream) {
    http::async_read(stream, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  });
}

void HttpSession::on_read(boost::system::error_code ec, std::size_t /*bytes*/) {
  if (ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset ||
      ec == boost::asio::error::bad_descriptor || ec == boost::asio::ssl::error::stream_truncated) {
    cut();  // gone or stalled: no goodbye
    return;
  }
  if (ec == http::error::end_of_stream) {
    close();
    return;
  }
  if (ec) {
    // The request cannot be read to its end: answer once and close.
    auto status = http::status::bad_request;
    std::string_view code = "bad_request";
    if (ec == http::error::body_limit) {
      status = http::status::payload_too_large;
      code = "body_too_large";
    } else if (ec == http::error::header_limit) {
      status = http::status::request_header_fields_too_large;
      code = "header_too_large";
    }
    worker_.context().log.debug("http: unreadable request: {}", ec.message());
    auto response = make_error_response(status, code, "request rejected: " + ec.message(), 11, false);
    send(std::move(response));
    return;
  }
  serve(parser_->release());
}

void HttpSession::serve(const Request& request) {
  if (beast::websocket::is_upgrade(request)) {
    upgrade(request);
    return;
  }
  worker_.rest().handle(
      request, worker_.parser(),
      [self = shared_from_this(), executor = worker_.io_context().get_executor()](HttpResponse response) {
        // Inline for most requests; posted when the history answered.
        boost::asio::dispatch(
            executor, [self, response = std::move(response)]() mutable { self->send(std::move(response)); });
      });
}

void HttpSession::upgrade(const Request& request) {
  const auto& context = worker_.context();
  const auto version = request.version();
  auto accept_key = check_upgrade(request);
  auto& metrics = context.node.metrics();
  if (auto* refusal = std::get_if<HandshakeRefusal>(&accept_key)) {
    metrics.refuse(RefusalReason::bad_upgrade);
    auto response = make_error_response(refusal->status, "bad_upgrade", refusal->message, version, false);
    if (refusal->status == http::status::upgrade_required)
      response.set(http::field::sec_websocket_version, "13");
    send(std::move(response));
    return;
  }
  auto target = read_target(request.target());
  const auto& echo_path = context.config.ws_echo_path;
  if (!target || (target->path != kSyncPath && (echo_path.empty() || target->path != echo_path))) {
    metrics.refuse(RefusalReason::not_found);
    send(make_error_response(http::status::not_found, "not_found", "WebSocket endpoint is /ws/sync", version,
                             false));
    return;
  }
  const bool echo = target->path != kSyncPath;  // WS_ECHO_PATH
  const auto origin = request[http::field::origin];
  if (!context.origins.allows(origin)) {
    log_event(context.log, spdlog::level::info, "websocket upgrade refused: origin not in ALLOWED_ORIGINS",
              {{"origin", std::string_view(origin.data(), origin.size())}, {"code", 403}});
    metrics.refuse(RefusalReason::origin);
    send(make_error_response(http::status::forbidden, "origin_not_allowed", "origin is not allowed", version,
                             false));
    return;
  }
  auto identity = context.auth.identify_upgrade(
      UpgradeCredentials{target->token, request[http::field::authorization], target->user_id},
      std::chrono::system_clock::now());
  if (auto* err = std::get_if<AuthError>(&identity)) {
    log_event(context.log, spdlog::level::debug, "websocket upgrade refused",
              {{"error", to_string(err->code)}, {"reason", err->message}, {"code", 401}});
    metrics.refuse(RefusalReason::auth);
    metrics.auth_failed(auth_failure_for(err->code));
    send(make_error_response(http::status::unauthorized, to_string(err->code), err->message, version, false));
    return;
  }
  std::optional<Identity> known;
  if (auto* id = std::get_if<Identity>(&identity)) known = std::move(*id);
  if (!known && echo) {
    // The echo endpoint has no "auth" message: it echoes everything.
    metrics.refuse(RefusalReason::auth);
    metrics.auth_failed(AuthFailure::missing);
    send(make_error_response(http::status::unauthorized, "not_authenticated",
                             "the echo endpoint needs a token on the upgrade request", version, false));
    return;
  }
  boost::system::error_code ec;
  const auto peer = socket().remote_endpoint(ec);
  if (ec) {
    close();  // gone already
    return;
  }
  auto admission =
      context.limiter.admit(peer.address(), known ? std::string_view(known->user_id) : std::string_view(),
                            std::chrono::steady_clock::now());
  if (auto* refusal = std::get_if<ConnectionLimiter::Refusal>(&admission)) {
    refuse(*refusal, peer.address(), version);
    return;
  }
  metrics.connections_accepted.add();
  deadline_.cancel();  // the WebSocket session keeps its own deadlines
  auto gated = tls_ ? GatedSocket(std::move(tls_)) : GatedSocket(std::move(*plain_));
  plain_.reset();
  auto ticket = std::move(std::get<ConnectionLimiter::Ticket>(admission));
  std::shared_ptr<WebSocketConnection> connection;
  if (echo) {
    connection = std::make_shared<HandledConnection<EchoHandler>>(
        std::move(gated), worker_, context.registry.next_connection_id(), std::move(ticket));
  } else {
    connection = std::make_shared<HandledConnection<ClientSession>>(
        std::move(gated), worker_, worker_.session_services(), std::move(known), std::move(ticket));
  }
  connection->run(request, std::get<std::string>(accept_key), beast::buffers_to_string(buffer_.data()));
}

void HttpSession::refuse(const ConnectionLimiter::Refusal& refusal, const boost::asio::ip::address& peer,
                         unsigned version) {
  using Reason = ConnectionLimiter::Reason;
  http::status status = http::status::too_many_requests;
  std::string_view message;
  auto& metrics = worker_.context().node.metrics();
  switch (refusal.reason) {
    case Reason::server_full:
      metrics.refuse(RefusalReason::server_full);
      status = http::status::service_unavailable;
      message = "MAX_CONNECTIONS reached on this node; try again later";
      break;
    case Reason::too_many_from_ip:
      metrics.refuse(RefusalReason::per_ip);
      message = "MAX_CONNECTIONS_PER_IP reached for your address";
      break;
    case Reason::too_many_for_user:
      metrics.refuse(RefusalReason::per_user);
      message = "MAX_CONNECTIONS_PER_USER reached for this user";
      break;
    case Reason::rate_per_ip:
      metrics.refuse(RefusalReason::rate);
      message = "CONNECTION_RATE_PER_IP exceeded: slow down";
      break;
  }
  // Refusals come in floods when they come: one line each at debug only.
  log_event(worker_.context().log, spdlog::level::debug, "websocket upgrade refused",
            {{"peer", peer.to_string()}, {"reason", message}, {"code", static_cast<unsigned>(status)}});
  auto response = make_error_response(status, to_string(refusal.reason), message, version, false);
  if (refusal.retry_after.count() > 0) {
    response.set(http::field::retry_after, std::to_string(refusal.retry_after.count()));
  }
  send(std::move(response));
}

void HttpSession::send(http::response<http::string_body> response) {
  const bool keep_alive = response.keep_alive();
  auto message = std::make_shared<http::response<http::string_body>>(std::move(response));
  expires_after(kHttpTimeout);
  with_stream([this, &message, keep_alive](auto& stream) {
    http::async_write(
        stream, *message,
        [self = shared_from_this(), message, keep_alive](boost::system::error_code ec, std::size_t n) {
          self->on_write(keep_alive, ec, n);
        });
  });
}

void HttpSession::on_write(bool keep_alive, boost::system::error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    cut();
    return;
  }
  if (!keep_alive) {
    close();
    return;
  }
  do_read();
}

void HttpSession::close() {
  if (tls_) {
    expires_after(kTlsShutdownTimeout);
    tls_->async_shutdown([self = shared_from_this()](boost::system::error_code) {
      boost::system::error_code ignored;
      self->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
      self->cut();
    });
    return;
  }
  boost::system::error_code ignored;
  socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  cut();
}

void HttpSession::cut() {
  boost::system::error_code ignored;
  socket().close(ignored);
  deadline_.cancel();
}

void HttpSession::expires_after(std::chrono::steady_clock::duration timeout) {
  deadline_.expires_after(timeout);
  deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    // Not after the upgrade: the socket then belongs to the WebSocket session.
    if (auto self = weak.lock(); self && !ec && (self->tls_ || self->plain_)) {
      boost::system::error_code ignored;
      self->socket().close(ignored);  // the pending operation fails: its handler ends the session
    }
  });
}

}  // namespace natsync
