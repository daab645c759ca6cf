// The server API over REST (docs/protocol.md, Server API), with the same caller rules as
// POST /api/sync/publish: POST /api/sync/subscribe, /unsubscribe, /disconnect,
// GET /api/sync/topics[?pattern=P] and GET /api/sync/presence?topic=T.
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <memory>

#include "api/rest_api.hpp"
#include "protocol/presence_messages.hpp"
#include "protocol/server_message.hpp"
#include "protocol/topic.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {

namespace http = boost::beast::http;

namespace {

// The value of query parameter `key` (empty when absent); false for a bad target.
bool query_param(const HttpRequest& request, std::string_view key, std::string& out) {
  auto url = boost::urls::parse_origin_form(request.target());
  if (!url) return false;
  for (const auto& param : url->params()) {
    if (param.key == key) out = param.value;
  }
  return true;
}

std::string_view why_not(PublishStatus status) {
  switch (status) {
    case PublishStatus::invalid_user: return "'user_id' must be 1-256 bytes";
    case PublishStatus::invalid_topic: return "'topic' is neither a topic nor a pattern";
    default: return to_string(status);
  }
}

}  // namespace

void RestApi::server_command(const HttpRequest& request, std::string_view path, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  // Shared: the success answer comes later, from the broker's thread (`sent`, below).
  auto answer = std::make_shared<Respond>(std::move(respond));
  const auto bad = [&](std::string_view code, std::string_view message) {
    (*answer)(make_error_response(http::status::bad_request, code, message, version, keep_alive));
  };
  boost::system::error_code ec;
  const auto value = boost::json::parse(request.body(), ec);
  if (ec) return bad("invalid_json", "the body is not JSON");
  const auto* body = value.if_object();
  if (body == nullptr) return bad("invalid_json", "the body must be a JSON object");
  const auto string_field = [body](std::string_view key, std::string& out) {
    const auto* field = body->if_contains(key);
    if (field == nullptr) return true;
    if (!field->is_string()) return false;
    out = field->get_string();
    return true;
  };
  std::string user_id;
  std::string topic;
  std::string reason;
  if (!string_field("user_id", user_id) || user_id.empty())
    return bad("invalid_message", "field 'user_id' (a string) is required");
  // Answered once NATS has the command: a command sent next (through any node) is then
  // applied after this one everywhere.
  auto sent = [answer, user_id, version, keep_alive] {
    (*answer)(json_response(http::status::ok, R"({"status":"ok","user_id":)" + json_quote(user_id) + "}",
                            version, keep_alive));
  };
  PublishStatus status = PublishStatus::ok;
  if (path == "/api/sync/disconnect") {
    if (!string_field("reason", reason)) return bad("invalid_message", "field 'reason' must be a string");
    if (reason.size() > 256) return bad("invalid_message", "field 'reason' must be at most 256 bytes");
    bool reconnect = true;
    if (const auto* field = body->if_contains("reconnect")) {
      if (!field->is_bool()) return bad("invalid_message", "field 'reconnect' must be true or false");
      reconnect = field->get_bool();
    }
    status = node_.disconnect_user(user_id, reason, reconnect, sent);
  } else {
    if (!string_field("topic", topic) || topic.empty())
      return bad("invalid_message", "field 'topic' (a topic or a pattern) is required");
    const char* why = is_pattern(topic) ? pattern_error(topic) : topic_error(topic);
    if (why != nullptr) return bad("invalid_topic", why);
    status = path == "/api/sync/subscribe" ? node_.subscribe_user(user_id, topic, sent)
                                           : node_.unsubscribe_user(user_id, topic, sent);
  }
  if (status == PublishStatus::invalid_user || status == PublishStatus::invalid_topic)
    return bad(status == PublishStatus::invalid_user ? "invalid_message" : "invalid_topic", why_not(status));
  if (status != PublishStatus::ok) {
    (*answer)(make_error_response(http::status::service_unavailable, "broker_unavailable", why_not(status),
                                  version, keep_alive));
  }
}

void RestApi::list_topics(const HttpRequest& request, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  std::string pattern;
  if (!query_param(request, "pattern", pattern) || (!pattern.empty() && pattern_error(pattern) != nullptr)) {
    return respond(make_error_response(http::status::bad_request, "invalid_topic",
                                       "'pattern' must be a topic pattern (tokens, '*', or a last '>')",
                                       version, keep_alive));
  }
  node_.list_topics(pattern, [respond = std::move(respond), version, keep_alive](TopicList list) {
    std::string body = R"({"topics":[)";
    for (std::size_t i = 0; i < list.topics.size(); ++i) {
      if (i != 0) body.push_back(',');
      body.append(R"({"topic":)")
          .append(json_quote(list.topics[i].topic))
          .append(R"(,"subscribers":)")
          .append(std::to_string(list.topics[i].subscribers))
          .push_back('}');
    }
    body.append(R"(],"truncated":)").append(list.truncated ? "true" : "false").push_back('}');
    respond(json_response(http::status::ok, std::move(body), version, keep_alive));
  });
}

void RestApi::presence(const HttpRequest& request, Respond respond) const {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (auto refusal = refuse_caller(request)) return respond(std::move(*refusal));
  std::string topic;
  const char* why =
      query_param(request, "topic", topic) ? topic_error(topic) : "the request target is not a URL";
  if (why != nullptr) {
    return respond(make_error_response(http::status::bad_request, "invalid_topic",
                                       std::string("'topic': ") + why, version, keep_alive));
  }
  auto data = node_.presence_of(topic);
  if (!data) {
    return respond(make_error_response(http::status::not_found, "no_presence",
                                       "this topic has no presence: it matches no PRESENCE_TOPICS pattern",
                                       version, keep_alive));
  }
  respond(json_response(http::status::ok, encode_presence_data(*data), version, keep_alive));
}

}  // namespace natsync
