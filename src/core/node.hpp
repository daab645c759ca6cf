#pragma once
// The facade an application talks to: publish to a topic, to one user, to everyone,
// and read the status. Mirrors the spec's Go API (PublishData, PublishToUser, …).
// Every member is thread-safe and returns without waiting for delivery.
//
// On a durable topic (DURABLE_TOPICS) with JetStream, whether a message was stored is
// known only later, on another thread: the returning publish()/publish_json() say `ok`
// once it is handed to the history (or broker_unavailable if that failed at once); the
// overloads with a PublishDone tell the real outcome when it is known.
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "broker/broker.hpp"
#include "core/server_api.hpp"
#include "documents/documents.hpp"
#include "history/history.hpp"
#include "hub/connection_registry.hpp"
#include "metrics/counters.hpp"
#include "presence/presence.hpp"

namespace natsync {

// broker_unavailable: delivered to this node's connections, but it could not be
// handed to the other nodes (NATS down and its reconnect buffer full).
enum class PublishStatus { ok, invalid_topic, invalid_user, invalid_data, broker_unavailable };

std::string_view to_string(PublishStatus status);

struct NodeStatus {
  std::size_t clients = 0;      // distinct users (anonymous connections count one each)
  std::size_t connections = 0;  // open WebSocket connections
  std::int64_t timestamp = 0;   // unix seconds
  BrokerStatus broker;
  std::optional<std::size_t> history_messages;  // with DURABLE_TOPICS: messages stored
  std::uint64_t history_lag = 0;                // stored, not yet delivered by this node (JetStream)
  std::optional<std::size_t> documents;         // with DOCUMENT_TOPICS: documents in memory
};

class Node {
 public:
  // The outcome of one publish. Runs exactly once: before the call returns, or later on
  // another thread (a durable topic with JetStream: once stored, or not).
  using PublishDone = std::function<void(PublishStatus)>;

  // `history`: the durable topics' history (null: no topic keeps any). `documents`: the
  // shared documents (null: no topic is one).
  // `server_api`: the server API (null: not offered, as in unit tests); `presence`:
  // PRESENCE_TOPICS (null: none).
  Node(Broker& broker, const ConnectionRegistry& registry, History* history = nullptr,
       Documents* documents = nullptr, ServerApi* server_api = nullptr, Presence* presence = nullptr)
      : broker_(broker),
        registry_(registry),
        history_(history),
        documents_(documents),
        server_api_(server_api),
        presence_(presence) {}

  // The durable topics' history, or null.
  History* history() const { return history_; }
  // The shared documents, or null.
  Documents* documents() const { return documents_; }
  // Whether `topic` is a document (DOCUMENT_TOPICS). A document is never also durable.
  bool document(std::string_view topic) const { return documents_ != nullptr && documents_->document(topic); }
  // Whether `topic` keeps history.
  bool durable(std::string_view topic) const {
    return history_ != nullptr && history_->durable(topic) && !document(topic);
  }

  // The library API of documents (docs/documents.md), from any thread. A change is
  // answered once it is stored, or with why not (an invalid topic or body, a topic that
  // is no document: `rejected` with invalid_topic or invalid_message). `change.body` is
  // any JSON text (re-serialised compactly). A read returns false, without calling
  // `done`, when `topic` is no document.
  void change_document(std::string_view topic, DocumentChange change, Documents::ChangeDone done);
  bool read_document(std::string_view topic, Documents::ReadDone done);

  PublishStatus publish(std::string_view topic, const boost::json::value& data);
  PublishStatus publish_to_user(std::string_view user_id, const boost::json::value& data);
  PublishStatus broadcast(const boost::json::value& data);

  // The same for data that is already JSON text (one value; re-serialised compactly).
  PublishStatus publish_json(std::string_view topic, std::string_view data_json);
  PublishStatus publish_to_user_json(std::string_view user_id, std::string_view data_json);
  PublishStatus broadcast_json(std::string_view data_json);

  // A topic publish whose `done` learns the real outcome: on a durable topic ok once it
  // is stored (ok also for a message stored before under the same idempotency key),
  // broker_unavailable when the history could not store it; elsewhere what the
  // returning overload would return. Invalid input: `done` at once, nothing published.
  void publish(std::string_view topic, const boost::json::value& data, PublishDone done);
  void publish_json(std::string_view topic, std::string_view data_json, PublishDone done);

  NodeStatus status() const;
  // The node-wide counters of GET /metrics (the per-worker ones are the workers').
  NodeMetrics& metrics() const { return metrics_; }

  // The server API (docs/protocol.md): acts on every connection of `user_id` on every
  // node. subscribe/unsubscribe take a topic or a pattern. Returns invalid_user or
  // invalid_topic (and does nothing) for bad input; broker_unavailable without a server API.
  // `sent` (optional) runs once the command is with NATS (at once standalone): a command
  // made after that is applied after this one everywhere.
  PublishStatus subscribe_user(std::string_view user_id, std::string_view topic,
                               std::function<void()> sent = {});
  PublishStatus unsubscribe_user(std::string_view user_id, std::string_view topic,
                                 std::function<void()> sent = {});
  PublishStatus disconnect_user(std::string_view user_id, std::string_view reason, bool reconnect,
                                std::function<void()> sent = {});
  // The topics with subscribers on every node, most subscribed first; `pattern` (empty:
  // all) filters them. False (and no call of `done`) for a bad pattern.
  bool list_topics(std::string_view pattern, ServerApi::TopicsDone done) const;
  // Presence (PRESENCE_TOPICS), or null.
  Presence* presence() const { return presence_; }
  // A tracked topic's members on every node; nullopt when `topic` is not tracked.
  std::optional<PresenceData> presence_of(std::string_view topic) const;

  // For the server's own paths, whose input is already validated: `key` checked by
  // the topic/user rules, `compact_json` produced by our parser. Encodes once. A message
  // on a durable topic is handed to the history (publish_durable) without waiting: the
  // return value is then ok ("handed over") unless the history refused it at once;
  // `done`, if given, learns the real outcome.
  PublishStatus publish_validated(Publication::Target target, std::string key, std::string_view compact_json,
                                  std::uint64_t exclude_connection = 0, PublishDone done = {});

  // A message on a durable topic (`topic` valid, `compact_json` ours): numbered, stored
  // and delivered; `done` learns its position, or that it was a duplicate of an
  // `idempotency_key` still remembered, or that the history is unreachable. `done` runs
  // once, inline (standalone) or on another thread (JetStream).
  void publish_durable(const std::string& topic, std::string_view compact_json,
                       std::uint64_t exclude_connection, std::string_view idempotency_key,
                       History::PublishDone done);

 private:
  // The server API's three commands: checked, then handed to every node.
  PublishStatus command_user(std::string_view user_id, ServerCommand command, std::function<void()> sent);

  Broker& broker_;
  const ConnectionRegistry& registry_;
  History* history_;
  Documents* documents_;
  ServerApi* server_api_;
  Presence* presence_;
  mutable NodeMetrics metrics_;  // counters: updating them changes nothing a caller sees
};

}  // namespace natsync
