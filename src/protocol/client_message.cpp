#include "protocol/client_message.hpp"

#include <simdjson.h>

#include "protocol/topic.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {

struct MessageParser::Impl {
  explicit Impl(std::size_t max_topic) : max_topic_length(max_topic) {}
  simdjson::dom::parser parser;
  std::size_t max_topic_length;
};

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

ProtocolError error(ErrorCode code, std::string message, std::string id = {}) {
  return ProtocolError{code, std::move(message), std::move(id)};
}

// Parses `text` as exactly one JSON object (simdjson validates the whole document,
// UTF-8 included, and bounds nesting depth).
std::variant<object, ProtocolError> parse_object(simdjson::dom::parser& parser, std::string_view text) {
  element doc;
  if (auto err = parser.parse(text.data(), text.size(), true).get(doc); err) {
    return error(ErrorCode::invalid_json,
                 std::string("message is not valid JSON: ") + simdjson::error_message(err));
  }
  object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return error(ErrorCode::invalid_json, "message must be a JSON object");
  }
  return obj;
}

// Reads an optional string field. Returns false (and sets `problem`) if the field is
// present with another type.
bool optional_string(object obj, std::string_view key, std::string& out, std::string& problem) {
  element field;
  if (obj.at_key(key).get(field) != simdjson::SUCCESS) return true;
  std::string_view text;
  if (field.get_string().get(text) != simdjson::SUCCESS) {
    problem = "field '" + std::string(key) + "' must be a string";
    return false;
  }
  out.assign(text);
  return true;
}

constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxIdempotencyKeyBytes = 128;

// An optional "idempotency_key": 1-128 bytes when present.
bool read_idempotency_key(object obj, std::string& out, std::string& problem) {
  if (!optional_string(obj, "idempotency_key", out, problem)) return false;
  if (obj.at_key("idempotency_key").error() == simdjson::SUCCESS &&
      (out.empty() || out.size() > kMaxIdempotencyKeyBytes)) {
    problem = "'idempotency_key' must be 1-128 bytes";
    return false;
  }
  return true;
}

// A subscribe's "since": {"offset":N,"epoch":"…"} (durable topics) or
// {"revision":R,"epoch":"…"} (documents), or what is wrong with it.
std::variant<StreamPosition, ProtocolError> parse_since(element since, const std::string& id) {
  constexpr std::string_view shape =
      R"(field 'since' must be {"offset":N,"epoch":"…"} or {"revision":R,"epoch":"…"})";
  object since_obj;
  std::uint64_t offset = 0;
  std::string epoch;
  std::string problem;
  if (since.get_object().get(since_obj) != simdjson::SUCCESS)
    return error(ErrorCode::invalid_message, std::string(shape), id);
  const bool has_offset = since_obj.at_key("offset").error() == simdjson::SUCCESS;
  const bool has_revision = since_obj.at_key("revision").error() == simdjson::SUCCESS;
  if (has_offset == has_revision) return error(ErrorCode::invalid_message, std::string(shape), id);
  const char* counter = has_offset ? "offset" : "revision";
  if (since_obj.at_key(counter).get_uint64().get(offset) != simdjson::SUCCESS) {
    return error(ErrorCode::invalid_message,
                 "field 'since." + std::string(counter) + "' must be an integer >= 0", id);
  }
  if (!optional_string(since_obj, "epoch", epoch, problem)) {
    return error(ErrorCode::invalid_message, "field 'since.epoch' must be a string", id);
  }
  if (epoch.size() > kMaxEpochLength)
    return error(ErrorCode::invalid_message, "field 'since.epoch' is too long", id);
  return StreamPosition{offset, std::move(epoch)};
}

// A document change: exactly one of "data" (a merge patch, or with "replace":true the
// new document) and "ops" (an array: a JSON Patch); "if_revision" an integer >= 0.
// Whether the operations are well formed is the document's to say (they are applied
// one by one), but their container must be an array.
std::variant<DocumentChange, ProtocolError> parse_change(object obj, const std::string& id) {
  DocumentChange change;
  element data;
  element ops;
  const bool has_data = obj.at_key("data").get(data) == simdjson::SUCCESS;
  const bool has_ops = obj.at_key("ops").get(ops) == simdjson::SUCCESS;
  if (has_data == has_ops) {
    return error(ErrorCode::invalid_message,
                 "give exactly one of 'data' (a JSON merge patch, or with \"replace\":true the new document) "
                 "and 'ops' (a JSON Patch array)",
                 id);
  }
  if (element replace; obj.at_key("replace").get(replace) == simdjson::SUCCESS) {
    bool value = false;
    if (replace.get_bool().get(value) != simdjson::SUCCESS)
      return error(ErrorCode::invalid_message, "field 'replace' must be true or false", id);
    if (value && has_ops)
      return error(ErrorCode::invalid_message, "'replace' goes with 'data', not 'ops'", id);
    if (value) change.form = DocumentChange::Form::replace;
  }
  if (has_ops) {
    if (!ops.is_array())
      return error(ErrorCode::invalid_message, "field 'ops' must be an array of operations", id);
    change.form = DocumentChange::Form::ops;
    change.body = simdjson::minify(ops);
  } else {
    change.body = simdjson::minify(data);
  }
  if (element if_revision; obj.at_key("if_revision").get(if_revision) == simdjson::SUCCESS) {
    std::uint64_t revision = 0;
    if (if_revision.get_uint64().get(revision) != simdjson::SUCCESS)
      return error(ErrorCode::invalid_message, "field 'if_revision' must be an integer >= 0", id);
    change.if_revision = revision;
  }
  return change;
}

}  // namespace

MessageParser::MessageParser(std::size_t max_topic_length)
    : impl_(std::make_unique<Impl>(max_topic_length)) {}

bool MessageParser::is_json(std::string_view text) {
  element doc;
  return impl_->parser.parse(text.data(), text.size(), true).get(doc) == simdjson::SUCCESS;
}
MessageParser::~MessageParser() = default;

ParseResult<ClientMessage> MessageParser::parse_client_message(std::string_view frame) {
  auto parsed = parse_object(impl_->parser, frame);
  if (auto* err = std::get_if<ProtocolError>(&parsed)) return std::move(*err);
  const object obj = std::get<object>(parsed);

  ClientMessage msg;
  if (element id; obj.at_key("id").get(id) == simdjson::SUCCESS) {
    if (!id.is_string() && !id.is_int64() && !id.is_uint64()) {
      return error(ErrorCode::invalid_message, "field 'id' must be a string or an integer");
    }
    msg.id = simdjson::minify(id);
    // Echoed in every reply, so it must stay small (256 bytes plus the quotes).
    if (msg.id.size() > kMaxIdBytes + 2) {
      msg.id.clear();
      return error(ErrorCode::invalid_message, "field 'id' must be at most 256 bytes");
    }
  }

  std::string type_text;
  std::string problem;
  if (!optional_string(obj, "type", type_text, problem)) {
    return error(ErrorCode::invalid_message, problem, msg.id);
  }
  if (type_text.empty()) return error(ErrorCode::invalid_message, "field 'type' is required", msg.id);
  const auto type = parse_message_type(type_text);
  const bool client_may_send =
      type && (*type == MessageType::subscribe || *type == MessageType::unsubscribe ||
               *type == MessageType::sync || *type == MessageType::auth || *type == MessageType::disconnect ||
               *type == MessageType::patch || *type == MessageType::ping || *type == MessageType::presence);
  if (!client_may_send) {
    std::string hint = type == MessageType::data ? " (to publish, send 'sync')" : "";
    return error(ErrorCode::unknown_type, "unknown message type '" + type_text.substr(0, 64) + "'" + hint,
                 msg.id);
  }
  msg.type = *type;

  if (!optional_string(obj, "topic", msg.topic, problem)) {
    return error(ErrorCode::invalid_message, problem, msg.id);
  }
  const bool needs_topic = msg.type == MessageType::subscribe || msg.type == MessageType::unsubscribe ||
                           msg.type == MessageType::sync || msg.type == MessageType::patch ||
                           msg.type == MessageType::presence;
  // subscribe and unsubscribe also take a pattern (`chat.*`, `chat.>`).
  const bool pattern = (msg.type == MessageType::subscribe || msg.type == MessageType::unsubscribe) &&
                       msg.topic.find_first_of("*>") != std::string::npos;
  if (needs_topic) {
    if (msg.topic.empty() && obj.at_key("topic").error() != simdjson::SUCCESS) {
      return error(ErrorCode::invalid_message, "field 'topic' is required for " + type_text, msg.id);
    }
    if (const char* why = pattern ? pattern_error(msg.topic, impl_->max_topic_length)
                                  : topic_error(msg.topic, impl_->max_topic_length))
      return error(ErrorCode::invalid_topic, why, msg.id);
  }

  if (element since;
      msg.type == MessageType::subscribe && obj.at_key("since").get(since) == simdjson::SUCCESS) {
    if (pattern) {
      return error(ErrorCode::invalid_message,
                   "'since' needs one topic: a pattern subscription recovers nothing (subscribe to each "
                   "topic to recover it)",
                   msg.id);
    }
    auto position = parse_since(since, msg.id);
    if (auto* err = std::get_if<ProtocolError>(&position)) return std::move(*err);
    msg.since = std::move(std::get<StreamPosition>(position));
  }

  if (msg.type == MessageType::patch) {
    auto change = parse_change(obj, msg.id);
    if (auto* err = std::get_if<ProtocolError>(&change)) return std::move(*err);
    msg.change = std::move(std::get<DocumentChange>(change));
    return msg;
  }

  element data;
  const bool has_data = obj.at_key("data").get(data) == simdjson::SUCCESS;
  if (msg.type == MessageType::sync) {
    if (!has_data) return error(ErrorCode::invalid_message, "field 'data' is required for sync", msg.id);
    if (!read_idempotency_key(obj, msg.idempotency_key, problem))
      return error(ErrorCode::invalid_message, problem, msg.id);
    msg.data = simdjson::minify(data);
  }

  if (msg.type == MessageType::auth) {
    if (!optional_string(obj, "token", msg.token, problem)) {
      return error(ErrorCode::invalid_message, problem, msg.id);
    }
    object data_obj;
    if (msg.token.empty() && has_data && data.get_object().get(data_obj) == simdjson::SUCCESS &&
        !optional_string(data_obj, "token", msg.token, problem)) {
      return error(ErrorCode::invalid_message, problem, msg.id);
    }
    if (msg.token.empty()) {
      return error(ErrorCode::invalid_message, "auth needs a 'token' (or data.token)", msg.id);
    }
  }
  return msg;
}

ParseResult<PublishRequest> MessageParser::parse_publish_request(std::string_view body, PublishKind kind) {
  auto parsed = parse_object(impl_->parser, body);
  if (auto* err = std::get_if<ProtocolError>(&parsed)) return std::move(*err);
  const object obj = std::get<object>(parsed);

  PublishRequest request;
  std::string problem;
  if (!optional_string(obj, "topic", request.topic, problem) ||
      !optional_string(obj, "user_id", request.user_id, problem) ||
      !read_idempotency_key(obj, request.idempotency_key, problem)) {
    return error(ErrorCode::invalid_message, problem);
  }
  element data;
  if (obj.at_key("data").get(data) != simdjson::SUCCESS) {
    return error(ErrorCode::invalid_message, "field 'data' is required");
  }
  request.data = simdjson::minify(data);

  if (kind == PublishKind::broadcast) return request;
  const bool has_topic = obj.at_key("topic").error() == simdjson::SUCCESS;
  const bool has_user = obj.at_key("user_id").error() == simdjson::SUCCESS;
  if (has_topic == has_user) {
    return error(ErrorCode::invalid_message, "give exactly one of 'topic' or 'user_id'");
  }
  if (has_topic) {
    if (const char* why = topic_error(request.topic, impl_->max_topic_length))
      return error(ErrorCode::invalid_topic, why);
  } else if (request.user_id.empty() || request.user_id.size() > 256) {
    return error(ErrorCode::invalid_message, "'user_id' must be 1-256 bytes");
  }
  return request;
}

ParseResult<DocumentRequest> MessageParser::parse_document_request(std::string_view body) {
  auto parsed = parse_object(impl_->parser, body);
  if (auto* err = std::get_if<ProtocolError>(&parsed)) return std::move(*err);
  const object obj = std::get<object>(parsed);
  DocumentRequest request;
  std::string problem;
  if (!optional_string(obj, "topic", request.topic, problem))
    return error(ErrorCode::invalid_message, problem);
  if (obj.at_key("topic").error() != simdjson::SUCCESS)
    return error(ErrorCode::invalid_message, "field 'topic' is required");
  if (const char* why = topic_error(request.topic, impl_->max_topic_length))
    return error(ErrorCode::invalid_topic, why);
  auto change = parse_change(obj, {});
  if (auto* err = std::get_if<ProtocolError>(&change)) return std::move(*err);
  request.change = std::move(std::get<DocumentChange>(change));
  return request;
}

}  // namespace natsync
