#include "api/rest_api.hpp"

#include "api/admin_page.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/parse.hpp>
#include <charconv>

#include "api/static_files.hpp"
#include "protocol/server_message.hpp"

namespace natsync {

namespace http = boost::beast::http;

HttpResponse json_response(http::status status, std::string body, unsigned version, bool keep_alive) {
  HttpResponse response{status, version};
  response.set(http::field::server, "natsync");
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

namespace {

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
  // Every node: this one first, then the others it has heard from (docs/operations.md).
  out += R"(,"nodes":[{"node":)" + json_quote(broker.node_id) + R"(,"connections":)" +
         std::to_string(status.connections) + R"(,"state":"up","last_seen_ms":0})";
  for (const auto& peer : broker.peers) {
    out += R"(,{"node":)" + json_quote(peer.node_id) + R"(,"connections":)" +
           std::to_string(peer.connections) + R"(,"state":)" + (peer.alive ? R"("up")" : R"("silent")") +
           R"(,"last_seen_ms":)" + std::to_string(peer.last_seen_ms) + "}";
  }
  out += "]";
  if (status.history_messages)
    out += R"(,"history":{"messages":)" + std::to_string(*status.history_messages) + "}";
  if (status.documents) out += R"(,"documents":{"loaded":)" + std::to_string(*status.documents) + "}";
  return out + "}";
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// GET /api/sync/history: messages per page, by default and at most.
constexpr std::size_t kDefaultHistoryLimit = 100;
constexpr std::size_t kMaxHistoryLimit = 1000;

struct Route {
  std::string_view path;
  http::verb method;
};
constexpr Route kRoutes[] = {
    {"/api/sync/publish", http::verb::post},
    {"/api/sync/broadcast", http::verb::post},
    {"/api/sync/status", http::verb::get},
    {"/api/sync/history", http::verb::get},
    {"/api/sync/document", http::verb::get},
    {"/api/sync/document", http::verb::post},
    {"/api/sync/subscribe", http::verb::post},
    {"/api/sync/unsubscribe", http::verb::post},
    {"/api/sync/disconnect", http::verb::post},
    {"/api/sync/topics", http::verb::get},
    {"/api/sync/presence", http::verb::get},
    {"/healthz", http::verb::get},
    {"/metrics", http::verb::get},
};

}  // namespace

HttpResponse make_error_response(http::status status, std::string_view code, std::string_view message,
                                 unsigned version, bool keep_alive) {
  return json_response(status, R"({"error":)" + json_quote(message) + R"(,"code":)" + json_quote(code) + "}",
                       version, keep_alive);
}

RestApi::RestApi(Node& node, const Authenticator& auth, const OriginPolicy& origins,
                 const std::filesystem::path& static_dir)
    : node_(node),
      auth_(auth),
      origins_(origins),
      static_files_(static_dir.empty() ? nullptr : std::make_unique<const StaticFiles>(static_dir)) {}

RestApi::~RestApi() = default;

void RestApi::handle(const HttpRequest& request, MessageParser& parser, Respond respond) const {
  const auto path = path_of(request.target());
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  const auto origin = request[http::field::origin];
  // CORS: echo an allowed browser origin so pages on it may read the response.
  if (!origin.empty() && origins_.allows(origin)) {
    respond = [respond = std::move(respond), origin = std::string(origin)](HttpResponse response) {
      response.set(http::field::access_control_allow_origin, origin);
      response.set(http::field::vary, "Origin");
      respond(std::move(response));
    };
  }

  // The route of this path and method, else the path's first (for the 405's Allow).
  const Route* route = nullptr;
  std::string methods;
  for (const auto& candidate : kRoutes) {
    if (candidate.path != path) continue;
    if (route == nullptr || candidate.method == request.method()) route = &candidate;
    methods.append(methods.empty() ? "" : ", ").append(http::to_string(candidate.method));
  }

  HttpResponse response;
  if (path == "/ws/sync") {
    // A plain GET on the WebSocket endpoint (a browser tab, a health checker).
    response =
        make_error_response(http::status::upgrade_required, "upgrade_required",
                            "/ws/sync is a WebSocket endpoint: send an Upgrade request", version, keep_alive);
    response.set(http::field::upgrade, "websocket");
  } else if (admin_ui_ && is_admin_path(path) &&
             (request.method() == http::verb::get || request.method() == http::verb::head)) {
    response = serve_admin_file(request, path);
  } else if (route == nullptr && static_files_ && !path.starts_with("/api/") &&
             (request.method() == http::verb::get || request.method() == http::verb::head)) {
    response = static_files_->serve(request);
  } else if (route == nullptr) {
    response =
        make_error_response(http::status::not_found, "not_found",
                            "no such endpoint: " + std::string(path.substr(0, 200)), version, keep_alive);
  } else if (request.method() == http::verb::options && !origin.empty()) {
    // CORS preflight from a browser page.
    response = json_response(http::status::no_content, {}, version, keep_alive);
    response.set(http::field::access_control_allow_methods, methods);
    response.set(http::field::access_control_allow_headers, "Content-Type, Authorization, X-API-Key");
    response.set(http::field::access_control_max_age, "600");
  } else if (request.method() != route->method) {
    response =
        make_error_response(http::status::method_not_allowed, "method_not_allowed",
                            "use " + methods + " for " + std::string(route->path), version, keep_alive);
    response.set(http::field::allow, methods);
  } else if (path == "/metrics") {
    metrics(request, std::move(respond));
    return;
  } else if (path == "/healthz") {
    response = json_response(http::status::ok, R"({"status":"ok"})", version, keep_alive);
  } else if (path == "/api/sync/status") {
    response = json_response(http::status::ok, status_json(node_.status()), version, keep_alive);
  } else if (path == "/api/sync/history") {
    history(request, std::move(respond));
    return;
  } else if (path == "/api/sync/subscribe" || path == "/api/sync/unsubscribe" ||
             path == "/api/sync/disconnect") {
    server_command(request, path, std::move(respond));
    return;
  } else if (path == "/api/sync/topics") {
    list_topics(request, std::move(respond));
    return;
  } else if (path == "/api/sync/presence") {
    presence(request, std::move(respond));
    return;
  } else if (path == "/api/sync/document") {
    if (request.method() == http::verb::get) {
      get_document(request, std::move(respond));
    } else {
      change_document(request, parser, std::move(respond));
    }
    return;
  } else {
    publish(request, parser,
            path == "/api/sync/broadcast" ? PublishKind::broadcast : PublishKind::topic_or_user,
            std::move(respond));
    return;
  }
  respond(std::move(response));
}

void RestApi::metrics(const HttpRequest& request, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (metrics_ == nullptr) {
    return respond(
        make_error_response(http::status::not_found, "not_found", "no metrics here", version, keep_alive));
  }
  if (!metrics_public_) {
    if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  }
  metrics_->render([respond = std::move(respond), version, keep_alive](std::string text) {
    HttpResponse response{http::status::ok, version};
    response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.set(http::field::cache_control, "no-store");
    response.keep_alive(keep_alive);
    response.body() = std::move(text);
    response.prepare_payload();
    respond(std::move(response));
  });
}

std::optional<HttpResponse> RestApi::refuse_caller(const HttpRequest& request) const {
  if (auth_.rest_caller_accepted(request[http::field::authorization], request["X-API-Key"],
                                 std::chrono::system_clock::now())) {
    return std::nullopt;
  }
  const bool gave_key = !request[http::field::authorization].empty() || !request["X-API-Key"].empty();
  node_.metrics().auth_failed(gave_key ? AuthFailure::api_key : AuthFailure::missing);
  return make_error_response(
      gave_key ? http::status::forbidden : http::status::unauthorized,
      gave_key ? "forbidden" : "unauthorized",
      gave_key ? "neither the API key nor a token with the admin role"
               : "this endpoint needs Authorization: Bearer <SYNC_API_KEY or a JWT with the "
                 "admin role>, or X-API-Key",
      request.version(), request.keep_alive());
}

void RestApi::history(const HttpRequest& request, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  const auto bad = [&](std::string_view message) {
    respond(make_error_response(http::status::bad_request, "invalid_message", message, version, keep_alive));
  };
  auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return bad("the request target is not a valid URL");
  std::string topic;
  std::uint64_t since = 0;
  std::size_t limit = kDefaultHistoryLimit;
  const auto number = [](std::string_view text, auto& out) {
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    return ec == std::errc() && ptr == end;
  };
  for (const auto& param : url->params()) {
    if (param.key == "topic") {
      topic = param.value;
    } else if (param.key == "since" && !number(param.value, since)) {
      return bad("'since' must be an offset (a whole number >= 0)");
    } else if (param.key == "limit" &&
               (!number(param.value, limit) || limit == 0 || limit > kMaxHistoryLimit)) {
      return bad("'limit' must be a whole number from 1 to " + std::to_string(kMaxHistoryLimit));
    }
  }
  if (const char* why = topic_error(topic)) return bad(std::string("'topic': ") + why);
  if (!node_.durable(topic)) {
    return respond(make_error_response(http::status::not_found, "not_durable",
                                       "this topic keeps no history: it matches no DURABLE_TOPICS pattern",
                                       version, keep_alive));
  }
  node_.history()->read(
      topic, since, limit,
      [respond = std::move(respond), topic, version, keep_alive](std::optional<HistoryPage> page) {
        if (!page) {
          auto response = make_error_response(http::status::service_unavailable, "broker_unavailable",
                                              "the history (JetStream) is unreachable", version, keep_alive);
          response.set(http::field::retry_after, "1");
          return respond(std::move(response));
        }
        std::string body = R"({"topic":)" + json_quote(topic) + R"(,"offset":)" +
                           std::to_string(page->position.offset) + R"(,"epoch":)" +
                           json_quote(page->position.epoch) + R"(,"messages":[)";
        for (std::size_t i = 0; i < page->frames.size(); ++i) {
          if (i != 0) body.push_back(',');
          body.append(page->frames[i]->payload());
        }
        body.append("]}");
        respond(json_response(http::status::ok, std::move(body), version, keep_alive));
      });
}

void RestApi::publish(const HttpRequest& request, MessageParser& parser, PublishKind kind,
                      Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  auto parsed = parser.parse_publish_request(request.body(), kind);
  if (auto* err = std::get_if<ProtocolError>(&parsed)) {
    return respond(make_error_response(http::status::bad_request, to_string(err->code), err->message, version,
                                       keep_alive));
  }
  auto& body = std::get<PublishRequest>(parsed);
  if (!body.topic.empty() && node_.document(body.topic)) {
    return respond(make_error_response(http::status::bad_request, "invalid_message",
                                       "this topic is a document (DOCUMENT_TOPICS): change it with POST "
                                       "/api/sync/document",
                                       version, keep_alive));
  }
  const bool durable = !body.topic.empty() && node_.durable(body.topic);
  if (!body.idempotency_key.empty() && !durable) {
    return respond(
        make_error_response(http::status::bad_request, "invalid_message",
                            "'idempotency_key' needs a durable topic (DURABLE_TOPICS): the key is remembered "
                            "in the topic's history",
                            version, keep_alive));
  }
  const auto unavailable = [version, keep_alive](std::string_view why) {
    // Never silently dropped: the caller learns that it did not go through everywhere.
    auto response = make_error_response(http::status::service_unavailable, "broker_unavailable", why, version,
                                        keep_alive);
    response.set(http::field::retry_after, "1");
    return response;
  };
  node_.metrics().published(PublicationSource::rest);
  if (durable) {
    // Answered once the message is stored: with its offset in the topic's history.
    node_.publish_durable(
        body.topic, body.data, 0, body.idempotency_key,
        [respond = std::move(respond), topic = body.topic, version, keep_alive,
         unavailable](const Stored& stored) {
          if (!stored.ok) return respond(unavailable("not stored: the history (JetStream) is unreachable"));
          std::string reply = R"({"status":"ok","topic":)" + json_quote(topic);
          reply.append(R"(,"offset":)").append(std::to_string(stored.position.offset));
          reply.append(R"(,"epoch":)").append(json_quote(stored.position.epoch));
          if (stored.duplicate) reply.append(R"(,"duplicate":true)");  // published before, not again
          reply.push_back('}');
          respond(json_response(http::status::ok, std::move(reply), version, keep_alive));
        });
    return;
  }
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
  if (status == PublishStatus::broker_unavailable) return respond(unavailable(to_string(status)));
  respond(json_response(http::status::ok, std::move(reply), version, keep_alive));
}

}  // namespace natsync
