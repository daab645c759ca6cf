#include "core/node.hpp"

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "protocol/topic.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {
namespace {

std::optional<std::string> compact(std::string_view data_json) {
  boost::system::error_code ec;
  auto value = boost::json::parse(boost::json::string_view(data_json.data(), data_json.size()), ec);
  if (ec) return std::nullopt;
  return boost::json::serialize(value);
}

bool valid_user(std::string_view user_id) { return !user_id.empty() && user_id.size() <= 256; }

}  // namespace

std::string_view to_string(PublishStatus status) {
  switch (status) {
    case PublishStatus::ok: return "ok";
    case PublishStatus::invalid_topic: return "invalid topic";
    case PublishStatus::invalid_user: return "invalid user id (1-256 bytes)";
    case PublishStatus::invalid_data: return "data is not one valid JSON value";
    case PublishStatus::broker_unavailable:
      return "delivered locally, but the broker to other nodes is unavailable";
  }
  return "unknown";
}

PublishStatus Node::publish_validated(Publication::Target target, std::string key,
                                      std::string_view compact_json, std::uint64_t exclude_connection,
                                      PublishDone done) {
  if (target == Publication::Target::topic && durable(key)) {
    // The history answers inline (standalone) or on another thread, perhaps while this
    // returns (JetStream): the caller's return value only sees a refusal made at once.
    auto refused_at_once = std::make_shared<std::atomic<bool>>(false);
    publish_durable(key, compact_json, exclude_connection, {},
                    [refused_at_once, done = std::move(done)](const Stored& stored) {
                      if (!stored.ok) refused_at_once->store(true);
                      if (done) done(stored.ok ? PublishStatus::ok : PublishStatus::broker_unavailable);
                    });
    return refused_at_once->load() ? PublishStatus::broker_unavailable : PublishStatus::ok;
  }
  auto frame = target == Publication::Target::topic ? make_topic_data_frame(key, compact_json)
                                                    : make_direct_data_frame(compact_json);
  const auto status =
      broker_.publish(make_publication(target, std::move(key), std::move(frame), exclude_connection))
          ? PublishStatus::ok
          : PublishStatus::broker_unavailable;
  if (done) done(status);
  return status;
}

void Node::publish_durable(const std::string& topic, std::string_view compact_json,
                           std::uint64_t exclude_connection, std::string_view idempotency_key,
                           History::PublishDone done) {
  history_->publish(topic, compact_json, exclude_connection, idempotency_key, std::move(done));
}

PublishStatus Node::publish_json(std::string_view topic, std::string_view data_json) {
  metrics_.published(PublicationSource::api);
  if (!is_valid_topic(topic)) return PublishStatus::invalid_topic;
  auto data = compact(data_json);
  if (!data) return PublishStatus::invalid_data;
  return publish_validated(Publication::Target::topic, std::string(topic), *data);
}

void Node::publish_json(std::string_view topic, std::string_view data_json, PublishDone done) {
  metrics_.published(PublicationSource::api);
  if (!is_valid_topic(topic)) return done(PublishStatus::invalid_topic);
  auto data = compact(data_json);
  if (!data) return done(PublishStatus::invalid_data);
  publish_validated(Publication::Target::topic, std::string(topic), *data, 0, std::move(done));
}

void Node::publish(std::string_view topic, const boost::json::value& data, PublishDone done) {
  metrics_.published(PublicationSource::api);
  if (!is_valid_topic(topic)) return done(PublishStatus::invalid_topic);
  publish_validated(Publication::Target::topic, std::string(topic), boost::json::serialize(data), 0,
                    std::move(done));
}

PublishStatus Node::publish(std::string_view topic, const boost::json::value& data) {
  metrics_.published(PublicationSource::api);
  if (!is_valid_topic(topic)) return PublishStatus::invalid_topic;
  return publish_validated(Publication::Target::topic, std::string(topic), boost::json::serialize(data));
}

PublishStatus Node::publish_to_user_json(std::string_view user_id, std::string_view data_json) {
  metrics_.published(PublicationSource::api);
  if (!valid_user(user_id)) return PublishStatus::invalid_user;
  auto data = compact(data_json);
  if (!data) return PublishStatus::invalid_data;
  return publish_validated(Publication::Target::user, std::string(user_id), *data);
}

PublishStatus Node::publish_to_user(std::string_view user_id, const boost::json::value& data) {
  metrics_.published(PublicationSource::api);
  if (!valid_user(user_id)) return PublishStatus::invalid_user;
  return publish_validated(Publication::Target::user, std::string(user_id), boost::json::serialize(data));
}

PublishStatus Node::broadcast_json(std::string_view data_json) {
  metrics_.published(PublicationSource::api);
  auto data = compact(data_json);
  if (!data) return PublishStatus::invalid_data;
  return publish_validated(Publication::Target::all, {}, *data);
}

PublishStatus Node::broadcast(const boost::json::value& data) {
  metrics_.published(PublicationSource::api);
  return publish_validated(Publication::Target::all, {}, boost::json::serialize(data));
}

NodeStatus Node::status() const {
  NodeStatus status;
  status.clients = registry_.clients();
  status.connections = registry_.connections();
  status.timestamp =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  status.broker = broker_.status();
  if (history_ != nullptr) {
    status.history_messages = history_->messages();
    status.history_lag = history_->consumer_lag();
  }
  if (documents_ != nullptr) status.documents = documents_->documents();
  return status;
}

void Node::change_document(std::string_view topic, DocumentChange change, Documents::ChangeDone done) {
  const auto refuse = [&done](ErrorCode code, std::string message) {
    DocumentOutcome outcome;
    outcome.status = DocumentOutcome::Status::rejected;
    outcome.code = code;
    outcome.message = std::move(message);
    done(outcome);
  };
  if (!is_valid_topic(topic)) return refuse(ErrorCode::invalid_topic, "invalid topic");
  if (!document(topic)) return refuse(ErrorCode::invalid_message, "not a document topic (DOCUMENT_TOPICS)");
  auto body = compact(change.body);
  if (!body) return refuse(ErrorCode::invalid_message, "the change is not one JSON value");
  change.body = std::move(*body);
  documents_->change(std::string(topic), change,
                     [this, done = std::move(done)](const DocumentOutcome& outcome) {
                       if (outcome.status == DocumentOutcome::Status::ok) metrics_.document_patches.add();
                       done(outcome);
                     });
}

bool Node::read_document(std::string_view topic, Documents::ReadDone done) {
  if (!is_valid_topic(topic) || !document(topic)) return false;
  documents_->read(std::string(topic), std::move(done));
  return true;
}

}  // namespace natsync

namespace natsync {
namespace {

bool valid_target(std::string_view topic) {
  return is_pattern(topic) ? pattern_error(topic) == nullptr : is_valid_topic(topic);
}

}  // namespace

PublishStatus Node::command_user(std::string_view user_id, ServerCommand command,
                                 std::function<void()> sent) {
  if (!valid_user(user_id)) return PublishStatus::invalid_user;
  if (command.kind != ServerCommand::Kind::disconnect && !valid_target(command.topic))
    return PublishStatus::invalid_topic;
  if (server_api_ == nullptr) return PublishStatus::broker_unavailable;
  server_api_->run(std::string(user_id), command, std::move(sent));
  return PublishStatus::ok;
}

PublishStatus Node::subscribe_user(std::string_view user_id, std::string_view topic,
                                   std::function<void()> sent) {
  return command_user(user_id, ServerCommand{ServerCommand::Kind::subscribe, std::string(topic), {}, true},
                      std::move(sent));
}

PublishStatus Node::unsubscribe_user(std::string_view user_id, std::string_view topic,
                                     std::function<void()> sent) {
  return command_user(user_id, ServerCommand{ServerCommand::Kind::unsubscribe, std::string(topic), {}, true},
                      std::move(sent));
}

PublishStatus Node::disconnect_user(std::string_view user_id, std::string_view reason, bool reconnect,
                                    std::function<void()> sent) {
  return command_user(
      user_id,
      ServerCommand{ServerCommand::Kind::disconnect, {}, std::string(reason.substr(0, 256)), reconnect},
      std::move(sent));
}

bool Node::list_topics(std::string_view pattern, ServerApi::TopicsDone done) const {
  if (!pattern.empty() && pattern_error(pattern) != nullptr) return false;
  if (server_api_ == nullptr) {
    done({});
    return true;
  }
  server_api_->topics(std::string(pattern), std::move(done));
  return true;
}

std::optional<PresenceData> Node::presence_of(std::string_view topic) const {
  if (presence_ == nullptr || !is_valid_topic(topic) || !presence_->tracked(topic)) return std::nullopt;
  return presence_->data(topic);
}

}  // namespace natsync
