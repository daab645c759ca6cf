#pragma once
// Parsing and validation of everything a client sends as JSON: WebSocket messages
// and REST request bodies. Every input is untrusted; every failure becomes a
// ProtocolError with a code and a sentence, never an exception or a crash.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/document_change.hpp"
#include "protocol/error_code.hpp"
#include "protocol/message_type.hpp"
#include "protocol/stream_position.hpp"
#include "protocol/topic.hpp"

namespace natsync {

// One validated client message. Fields not used by the type are empty.
struct ClientMessage {
  MessageType type = MessageType::disconnect;
  std::string id;     // raw JSON of "id" (string or integer), echoed in the reply
  std::string topic;  // validated by topic rules for subscribe/unsubscribe/sync
  std::string data;   // "data" re-serialised as compact JSON; present for sync
  std::string token;  // auth: "token" or "data.token"
  // subscribe: "since":{"offset":N,"epoch":"…"}, the last message the client has of a
  // durable topic, or "since":{"revision":R,"epoch":"…"} of a document; it asks for
  // everything after it.
  std::optional<StreamPosition> since;
  DocumentChange change;  // patch: "data" | "ops" | "data"+"replace", and "if_revision"
  // sync into a durable topic: publish once (a repeat with the same key, while the first
  // is in the topic's history, is acked as a duplicate and not published again). 1-128
  // bytes; empty = none.
  std::string idempotency_key;
};

struct ProtocolError {
  ErrorCode code;
  std::string message;
  std::string id;  // the request's id when it could be read, so replies correlate
};

// Body of POST /api/sync/publish or /api/sync/broadcast.
struct PublishRequest {
  std::string topic;    // set for topic publishes
  std::string user_id;  // set for user publishes
  std::string data;     // compact JSON
  // Publish once: a repeat with the same key, while the first is in its durable
  // topic's history, is not published again. 1-128 bytes; empty = none.
  std::string idempotency_key;
};

enum class PublishKind { topic_or_user, broadcast };

// Body of POST /api/sync/document: {"topic", "data"|"ops", "replace"?, "if_revision"?}.
struct DocumentRequest {
  std::string topic;
  DocumentChange change;
};

template <class T>
using ParseResult = std::variant<T, ProtocolError>;

// Owns a reusable simdjson parser (its buffers grow to the largest input seen), so
// one instance belongs to one thread: each worker has its own.
class MessageParser {
 public:
  // Topics longer than `max_topic_length` (MAX_TOPIC_LENGTH) are refused.
  explicit MessageParser(std::size_t max_topic_length = kMaxTopicLength);
  ~MessageParser();
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  ParseResult<ClientMessage> parse_client_message(std::string_view frame);
  ParseResult<PublishRequest> parse_publish_request(std::string_view body, PublishKind kind);
  ParseResult<DocumentRequest> parse_document_request(std::string_view body);
  // True when `text` is exactly one JSON value of any type (data arriving from NATS,
  // where any client may have published). Validates without copying it.
  bool is_json(std::string_view text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace natsync
