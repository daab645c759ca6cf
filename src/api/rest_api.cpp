#include "api/rest_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "protocol/server_message.hpp"

namespace natsync {

namespace http = boost::beast::http;

namespace {

HttpResponse json_response(http::status status, std::string body, unsigned version, bool keep_alive) {
  HttpResponse response{status, version};
  response.set(http::field::server, "natsync");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

std::string status_json(const NodeStatus& status) {
  const auto& broker = status.broker;
  std::string out = R"({"status":"running","clients":)" + std::to_string(status.clients) +
                    R"(,"connections":)" + std::to_string(status.connections) + R"(,"timestamp":)" +
                    std::to_string(status.timestamp) + R"(,"node":)" + json_quote(broker.node_id) +
                    R"(,"broker":)" + json_quote(broker.name) + R"(,"broker_connected":)" +
                    (broker.connected ? "true" : "false");
  if (broker.name != "memory") {
    out += R"(,"cluster":{"nodes":)" + std::to_string(broker.nodes) + R"(,"connections":)" +
           std::to_string(broker.cluster_connections) + R"(},"broker_subscriptions":)" +
           std::to_string(broker.subscriptions);
  }
  return out + "}";
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

struct Route {
  std::string_view path;
  http::verb method;
};
constexpr Route kRoutes[] = {
    {"/api/sync/publish", http::verb::post},
    {"/api/sync/broadcast", http::verb::post},
    {"/api/sync/status", http::verb::get},
    {"/healthz", http::verb::get},
};

}  // namespace

HttpResponse make_error_response(http::status status, std::string_view code, std::string_view message,
                                 unsigned version, bool keep_alive) {
  return json_response(status, R"({"error":)" + json_quote(message) + R"(,"code":)" + json_quote(code) + "}",
                       version, keep_alive);
}

HttpResponse RestApi::handle(const HttpRequest& request, MessageParser& parser) const {
  const auto path = path_of(request.target());
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  const auto origin = request[http::field::origin];

  const Route* route = nullptr;
  for (const auto& candidate : kRoutes) {
    if (candidate.path == path) route = &candidate;
  }

  HttpResponse response;
  if (path == "/ws/sync") {
    // A plain GET on the WebSocket endpoint (a browser tab, a health checker).
    response =
        make_error_response(http::status::upgrade_required, "upgrade_required",
                            "/ws/sync is a WebSocket endpoint: send an Upgrade request", version, keep_alive);
    response.set(http::field::upgrade, "websocket");
  } else if (route == nullptr) {
    response =
        make_error_response(http::status::not_found, "not_found",
                            "no such endpoint: " + std::string(path.substr(0, 200)), version, keep_alive);
  } else if (request.method() == http::verb::options && !origin.empty()) {
    // CORS preflight from a browser page.
    response = json_response(http::status::no_content, {}, version, keep_alive);
    response.set(http::field::access_control_allow_methods, std::string(http::to_string(route->method)));
    response.set(http::field::access_control_allow_headers, "Content-Type, Authorization, X-API-Key");
    response.set(http::field::access_control_max_age, "600");
  } else if (request.method() != route->method) {
    response = make_error_response(
        http::status::method_not_allowed, "method_not_allowed",
        "use " + std::string(http::to_string(route->method)) + " for " + std::string(route->path), version,
        keep_alive);
    response.set(http::field::allow, std::string(http::to_string(route->method)));
  } else if (path == "/healthz") {
    response = json_response(http::status::ok, R"({"status":"ok"})", version, keep_alive);
  } else if (path == "/api/sync/status") {
    response = json_response(http::status::ok, status_json(node_.status()), version, keep_alive);
  } else {
    response = publish(request, parser,
                       path == "/api/sync/broadcast" ? PublishKind::broadcast : PublishKind::topic_or_user);
  }

  // CORS: echo an allowed browser origin so pages on it may read the response.
  if (!origin.empty() && origins_.allows(origin)) {
    response.set(http::field::access_control_allow_origin, origin);
    response.set(http::field::vary, "Origin");
  }
  return response;
}

HttpResponse RestApi::publish(const HttpRequest& request, MessageParser& parser, PublishKind kind) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (!auth_.rest_caller_accepted(request[http::field::authorization], request["X-API-Key"],
                                  std::chrono::system_clock::now())) {
    const bool gave_key = !request[http::field::authorization].empty() || !request["X-API-Key"].empty();
    return make_error_response(
        gave_key ? http::status::forbidden : http::status::unauthorized,
        gave_key ? "forbidden" : "unauthorized",
        gave_key ? "neither the API key nor a token with the admin role"
                 : "this endpoint needs Authorization: Bearer <SYNC_API_KEY or a JWT with the "
                   "admin role>, or X-API-Key",
        version, keep_alive);
  }
  auto parsed = parser.parse_publish_request(request.body(), kind);
  if (auto* err = std::get_if<ProtocolError>(&parsed)) {
    return make_error_response(http::status::bad_request, to_string(err->code), err->message, version,
                               keep_alive);
  }
  auto& body = std::get<PublishRequest>(parsed);
  std::string reply;
  PublishStatus status = PublishStatus::ok;
  if (kind == PublishKind::broadcast) {
    status = node_.publish_validated(Publication::Target::all, {}, body.data);
    reply = R"({"status":"ok"})";
  } else if (!body.topic.empty()) {
    reply = R"({"status":"ok","topic":)" + json_quote(body.topic) + "}";
    status = node_.publish_validated(Publication::Target::topic, std::move(body.topic), body.data);
  } else {
    reply = R"({"status":"ok","user_id":)" + json_quote(body.user_id) + "}";
    status = node_.publish_validated(Publication::Target::user, std::move(body.user_id), body.data);
  }
  if (status == PublishStatus::broker_unavailable) {
    // Never silently dropped: the caller learns that other nodes did not get it.
    auto response = make_error_response(http::status::service_unavailable, "broker_unavailable",
                                        to_string(status), version, keep_alive);
    response.set(http::field::retry_after, "1");
    return response;
  }
  return json_response(http::status::ok, std::move(reply), version, keep_alive);
}

}  // namespace natsync
