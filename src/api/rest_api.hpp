#pragma once
// The REST endpoints: POST /api/sync/publish, POST /api/sync/broadcast,
// GET /api/sync/status, GET /api/sync/history, GET and POST /api/sync/document
// (document_endpoints.cpp), the server API: POST /api/sync/subscribe, /unsubscribe,
// /disconnect, GET /api/sync/topics and /api/sync/presence (server_endpoints.cpp), GET /healthz. A request ->
// response function (the response may come later, from the history), so it is tested without sockets and can
// be mounted into another HTTP server.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "api/metrics_source.hpp"
#include "auth/authenticator.hpp"
#include "auth/origin_policy.hpp"
#include "core/node.hpp"
#include "protocol/client_message.hpp"

namespace natsync {

class StaticFiles;

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A response with a JSON body.
HttpResponse json_response(boost::beast::http::status status, std::string body, unsigned version,
                           bool keep_alive);
// A JSON error body {"error":…,"code":…} with the given status.
HttpResponse make_error_response(boost::beast::http::status status, std::string_view code,
                                 std::string_view message, unsigned version, bool keep_alive);

class RestApi {
 public:
  // `static_dir`: STATIC_DIR, served at every path that is no endpoint (empty: none).
  RestApi(Node& node, const Authenticator& auth, const OriginPolicy& origins,
          const std::filesystem::path& static_dir = {});
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  // Gets the response to one request; never throws. `parser` is the calling thread's.
  // `respond` runs exactly once: before handle returns, or later on another thread when
  // the answer waits for the history (JetStream: durable publishes, history reads).
  using Respond = std::function<void(HttpResponse)>;
  void handle(const HttpRequest& request, MessageParser& parser, Respond respond) const;

  // GET /metrics answers with `source` (null: 404); `open`: METRICS_PUBLIC, no caller check.
  // Set while the server is assembled, before any request.
  void set_metrics(const MetricsSource* source, bool open) {
    metrics_ = source;
    metrics_public_ = open;
  }
  // ADMIN_UI: serve the admin page at /admin (api/admin_page.hpp).
  void set_admin_ui(bool on) { admin_ui_ = on; }

 private:
  void publish(const HttpRequest& request, MessageParser& parser, PublishKind kind, Respond respond) const;
  void history(const HttpRequest& request, Respond respond) const;
  void get_document(const HttpRequest& request, Respond respond) const;
  void change_document(const HttpRequest& request, MessageParser& parser, Respond respond) const;
  void server_command(const HttpRequest& request, std::string_view path, Respond respond) const;
  void list_topics(const HttpRequest& request, Respond respond) const;
  void presence(const HttpRequest& request, Respond respond) const;
  void metrics(const HttpRequest& request, Respond respond) const;
  // The REST caller proves the API key or an admin token; nullopt if so, else the 401/403.
  std::optional<HttpResponse> refuse_caller(const HttpRequest& request) const;

  Node& node_;
  const Authenticator& auth_;
  const OriginPolicy& origins_;
  std::unique_ptr<const StaticFiles> static_files_;  // null: no STATIC_DIR
  const MetricsSource* metrics_ = nullptr;
  bool metrics_public_ = false;
  bool admin_ui_ = false;
};

}  // namespace natsync
