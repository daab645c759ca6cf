#include "core/server_api.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <memory>
#include <mutex>
#include <optional>

#include "protocol/topic.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {
namespace {

const std::string kCommandChannel = "api";
const std::string kTopicsChannel = "topics";
// A node answers with at most this many of its topics (its most subscribed).
constexpr std::size_t kMaxTopicsPerNode = 10'000;

std::string_view kind_name(ServerCommand::Kind kind) {
  switch (kind) {
    case ServerCommand::Kind::subscribe: return "subscribe";
    case ServerCommand::Kind::unsubscribe: return "unsubscribe";
    case ServerCommand::Kind::disconnect: return "disconnect";
  }
  return "subscribe";
}

bool valid_target(std::string_view topic) {
  return is_pattern(topic) ? pattern_error(topic) == nullptr : is_valid_topic(topic);
}

// Most subscribers first; ties by name, so that a listing is stable.
void sort_and_cap(std::vector<TopicCount>& topics, std::size_t cap, bool& truncated) {
  std::sort(topics.begin(), topics.end(), [](const TopicCount& a, const TopicCount& b) {
    return a.subscribers != b.subscribers ? a.subscribers > b.subscribers : a.topic < b.topic;
  });
  if (topics.size() > cap) {
    topics.resize(cap);
    truncated = true;
  }
}

std::string encode_counts(const std::vector<TopicCount>& topics, bool truncated) {
  boost::json::array list;
  for (const auto& entry : topics) list.push_back(boost::json::array{entry.topic, entry.subscribers});
  boost::json::object answer{{"topics", std::move(list)}, {"truncated", truncated}};
  return boost::json::serialize(answer);
}

}  // namespace

ServerApi::ServerApi(Broker& broker, const Hub& hub) : broker_(broker), hub_(hub) {
  broker_.on_node_message(kCommandChannel, [this](std::string_view body) {
    // From any node (this one too), or any NATS client that can publish here: checked
    // like REST.
    boost::system::error_code ec;
    const auto value = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
    const auto* object = value.if_object();
    if (ec || object == nullptr) return;
    const auto text = [object](std::string_view key) -> std::optional<std::string> {
      const auto* field = object->if_contains(key);
      if (field == nullptr || !field->is_string()) return std::nullopt;
      return std::string(field->get_string());
    };
    const auto op = text("op");
    const auto user = text("user_id");
    if (!op || !user || user->empty() || user->size() > 256) return;
    ServerCommand command;
    if (*op == "disconnect") {
      command.kind = ServerCommand::Kind::disconnect;
      command.reason = text("reason").value_or("");
      if (command.reason.size() > 256) return;
      const auto* reconnect = object->if_contains("reconnect");
      command.reconnect = reconnect == nullptr || !reconnect->is_bool() || reconnect->get_bool();
    } else if (*op == "subscribe" || *op == "unsubscribe") {
      command.kind = *op == "subscribe" ? ServerCommand::Kind::subscribe : ServerCommand::Kind::unsubscribe;
      command.topic = text("topic").value_or("");
      if (!valid_target(command.topic)) return;
    } else {
      return;
    }
    hub_.command_user(*user, command);
  });
  broker_.on_node_request(kTopicsChannel, [this](std::string_view body, Broker::AnswerFn answer) {
    std::string pattern(body.substr(0, kMaxTopicLength + 1));
    if (!pattern.empty() && pattern_error(pattern) != nullptr) pattern.clear();
    local_topics(pattern, [answer = std::move(answer)](std::vector<TopicCount> topics, bool truncated) {
      answer(encode_counts(topics, truncated));
    });
  });
}

void ServerApi::run(const std::string& user_id, const ServerCommand& command, std::function<void()> sent) {
  boost::json::object message{{"op", kind_name(command.kind)}, {"user_id", user_id}};
  if (command.kind == ServerCommand::Kind::disconnect) {
    message["reason"] = command.reason;
    message["reconnect"] = command.reconnect;
  } else {
    message["topic"] = command.topic;
  }
  broker_.send_to_nodes(kCommandChannel, boost::json::serialize(message), std::move(sent));
}

void ServerApi::local_topics(const std::string& pattern,
                             std::function<void(std::vector<TopicCount>, bool)> done) const {
  struct Gathered {
    std::mutex mutex;
    boost::unordered_flat_map<std::string, std::size_t> counts;
  };
  auto gathered = std::make_shared<Gathered>();
  auto filter = pattern.empty() ? std::nullopt : TopicPattern::parse(pattern);
  hub_.visit_shards(
      [gathered, filter](const LocalHub& local) {
        std::lock_guard lock(gathered->mutex);
        local.for_each_topic([&](std::string_view topic, std::size_t subscribers) {
          if (is_pattern(topic) || (filter && !filter->matches(topic))) return;
          gathered->counts[std::string(topic)] += subscribers;
        });
      },
      [gathered, done = std::move(done)] {
        std::vector<TopicCount> topics;
        {
          std::lock_guard lock(gathered->mutex);
          topics.reserve(gathered->counts.size());
          for (auto& [topic, subscribers] : gathered->counts)
            topics.push_back(TopicCount{topic, subscribers});
        }
        bool truncated = false;
        sort_and_cap(topics, kMaxTopicsPerNode, truncated);
        done(std::move(topics), truncated);
      });
}

void ServerApi::topics(const std::string& pattern, TopicsDone done) const {
  local_topics(pattern, [this, pattern, done = std::move(done)](std::vector<TopicCount> mine,
                                                                bool truncated) {
    broker_.ask_nodes(kTopicsChannel, pattern, kTopicsTimeout,
                      [mine = std::move(mine), truncated, done](std::vector<std::string> answers) mutable {
                        boost::unordered_flat_map<std::string, std::size_t> counts;
                        for (auto& entry : mine) counts[std::move(entry.topic)] += entry.subscribers;
                        for (const auto& answer : answers) {
                          boost::system::error_code ec;
                          const auto value = boost::json::parse(answer, ec);
                          const auto* object = value.if_object();
                          if (ec || object == nullptr) continue;
                          if (const auto* more = object->if_contains("truncated");
                              more && more->is_bool() && more->get_bool())
                            truncated = true;
                          const auto* list = object->if_contains("topics");
                          if (list == nullptr || !list->is_array()) continue;
                          for (const auto& item : list->get_array()) {
                            const auto* pair = item.if_array();
                            if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string()) continue;
                            const auto& topic = (*pair)[0].get_string();
                            const auto& count = (*pair)[1];
                            if (!is_valid_topic(topic) || !count.is_int64() || count.get_int64() < 0)
                              continue;
                            counts[std::string(topic)] += static_cast<std::size_t>(count.get_int64());
                          }
                        }
                        TopicList list;
                        list.truncated = truncated;
                        for (auto& [topic, subscribers] : counts)
                          list.topics.push_back(TopicCount{topic, subscribers});
                        sort_and_cap(list.topics, kMaxTopics, list.truncated);
                        done(std::move(list));
                      });
  });
}

}  // namespace natsync
