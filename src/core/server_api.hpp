#pragma once
// The server API (docs/protocol.md, Server API): a back end subscribes a user's
// connections to a topic, unsubscribes them, or disconnects them, on every node; and
// lists the topics that have subscribers, cluster-wide.
//
// A command goes to every node, this one included, through NATS (<prefix>.n.api; at
// once standalone), each of which does it to its own connections of the user: every
// node applies the commands in the same order, so sequential commands sent through
// different nodes (a load balancer) end the same everywhere. A topic listing gathers
// this node's workers and asks the other nodes (<prefix>.n.topics), each answering with
// its own counts; what a node does not answer within kTopicsTimeout is left out.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/broker.hpp"
#include "hub/hub.hpp"

namespace natsync {

struct TopicCount {
  std::string topic;
  std::size_t subscribers = 0;
};

struct TopicList {
  std::vector<TopicCount> topics;  // most subscribers first, at most kMaxTopics
  bool truncated = false;          // there were more
};

class ServerApi {
 public:
  static constexpr std::size_t kMaxTopics = 1000;
  static constexpr auto kTopicsTimeout = std::chrono::milliseconds(1000);
  using TopicsDone = std::function<void(TopicList)>;

  // Registers its node channels with `broker`: construct before the broker starts.
  ServerApi(Broker& broker, const Hub& hub);

  // `user_id` non-empty; `topic` a topic or pattern (validated by the caller). `sent`
  // (optional) runs once NATS has the command: a command sent after that is applied
  // after this one on every node.
  void run(const std::string& user_id, const ServerCommand& command, std::function<void()> sent = {});
  // `pattern`: only topics it matches (empty: all). `done` runs once, on some thread.
  void topics(const std::string& pattern, TopicsDone done) const;

 private:
  // This node's workers' counts (topics only, not pattern subscriptions).
  void local_topics(const std::string& pattern,
                    std::function<void(std::vector<TopicCount>, bool)> done) const;

  Broker& broker_;
  const Hub& hub_;
};

}  // namespace natsync
