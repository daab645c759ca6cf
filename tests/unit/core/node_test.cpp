// The library API's publish outcomes (Node): what the returning calls say and what the
// PublishDone overloads learn, standalone and with a JetStream history that cannot be
// reached (nothing listens on its port).
#include "core/node.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <future>
#include <optional>

#include "auth/topic_permissions.hpp"
#include "broker/local_broker.hpp"
#include "history/jetstream_history.hpp"
#include "history/memory_history.hpp"

using namespace natsync;

namespace {

HistorySettings durable_orders() {
  HistorySettings settings;
  settings.durable_topics.push_back(*TopicPattern::parse("orders.>"));
  settings.size = 100;
  settings.ttl = std::chrono::minutes(1);
  return settings;
}

// A loopback port with nothing listening on it.
unsigned short closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();  // closed again when `acceptor` goes
}

struct Standalone {
  Hub hub;
  LocalBroker broker{hub, "node-1"};
  ConnectionRegistry registry;
  MemoryHistory history{durable_orders(), broker};
  Node node{broker, registry, &history};
};

std::optional<PublishStatus> outcome_inline(const std::function<void(Node::PublishDone)>& call) {
  std::optional<PublishStatus> seen;
  call([&seen](PublishStatus status) { seen = status; });
  return seen;
}

}  // namespace

TEST(Node, PublishDoneReportsEveryOutcomeStandalone) {
  Standalone s;
  EXPECT_EQ(outcome_inline([&](auto done) { s.node.publish("orders.eu", boost::json::value(1), done); }),
            PublishStatus::ok);
  EXPECT_EQ(outcome_inline([&](auto done) { s.node.publish_json("plain.news", R"({"a":1})", done); }),
            PublishStatus::ok);
  EXPECT_EQ(outcome_inline([&](auto done) { s.node.publish_json("not a topic", "1", done); }),
            PublishStatus::invalid_topic);
  EXPECT_EQ(outcome_inline([&](auto done) { s.node.publish_json("orders.eu", "{nope", done); }),
            PublishStatus::invalid_data);
  EXPECT_EQ(s.history.messages(), 1U);
  EXPECT_EQ(s.node.publish_json("orders.eu", "2"), PublishStatus::ok);
  EXPECT_EQ(s.history.messages(), 2U);
}

TEST(Node, DurablePublishWithJetStreamDownReachesTheCallbackAsBrokerUnavailable) {
  Hub hub;
  LocalBroker broker{hub, "node-1"};
  ConnectionRegistry registry;
  auto sink = std::make_shared<spdlog::sinks::null_sink_mt>();
  spdlog::logger log("test", sink);
  JetStreamSettings settings;
  settings.servers = {"nats://127.0.0.1:" + std::to_string(closed_port())};
  settings.node_id = "node-1";
  settings.history = durable_orders();
  settings.request_timeout = std::chrono::milliseconds(200);
  JetStreamHistory history(settings, hub, log);
  history.start();
  Node node{broker, registry, &history};

  std::promise<PublishStatus> stored;
  node.publish("orders.eu", boost::json::value{{"n", 1}},
               [&stored](PublishStatus status) { stored.set_value(status); });
  auto future = stored.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get(), PublishStatus::broker_unavailable);
  // The returning call says so too when the refusal comes at once (history not ready).
  EXPECT_EQ(node.publish_json("orders.eu", "1"), PublishStatus::broker_unavailable);
  // A plain topic is not the history's: delivered locally, ok.
  EXPECT_EQ(node.publish_json("plain.news", "1"), PublishStatus::ok);
  history.stop();
}

TEST(Node, ServerApiChecksItsInputAndListsTopicsStandalone) {
  Hub hub;  // no workers: nothing to act on, every listing empty
  LocalBroker broker{hub, "node-1"};
  ConnectionRegistry registry;
  ServerApi api{broker, hub};
  Node node{broker, registry, nullptr, nullptr, &api};
  EXPECT_EQ(node.subscribe_user("ann", "news.*"), PublishStatus::ok);
  EXPECT_EQ(node.unsubscribe_user("ann", "news.eu"), PublishStatus::ok);
  EXPECT_EQ(node.disconnect_user("ann", "banned", false), PublishStatus::ok);
  EXPECT_EQ(node.subscribe_user("", "news"), PublishStatus::invalid_user);
  EXPECT_EQ(node.subscribe_user(std::string(257, 'u'), "news"), PublishStatus::invalid_user);
  EXPECT_EQ(node.subscribe_user("ann", "news..eu"), PublishStatus::invalid_topic);
  EXPECT_EQ(node.unsubscribe_user("ann", "news.>.eu"), PublishStatus::invalid_topic);
  std::optional<TopicList> listed;
  EXPECT_TRUE(node.list_topics("news.*", [&listed](TopicList list) { listed = std::move(list); }));
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->topics.empty());
  EXPECT_FALSE(node.list_topics("news..*", [](TopicList) { FAIL(); }));
  EXPECT_FALSE(node.presence_of("room.1"));  // no PRESENCE_TOPICS

  Node without{broker, registry};  // as embedded without the server API
  EXPECT_EQ(without.subscribe_user("ann", "news"), PublishStatus::broker_unavailable);
}
