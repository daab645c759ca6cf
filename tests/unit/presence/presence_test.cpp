// Presence's messages between nodes, through a broker that records what is sent and
// lets the test play the other nodes (any NATS client can publish on these subjects, so
// every message here may be hostile).
#include "presence/presence.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "broker/local_broker.hpp"

using namespace natsync;

namespace {

// A LocalBroker that keeps the node-message handlers and what is sent to the others.
class RecordingBroker final : public Broker {
 public:
  explicit RecordingBroker(const Hub& hub) : local_(hub, "me") {}
  bool publish(PublicationPtr publication) override { return local_.publish(std::move(publication)); }
  void interest_gained(Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  void interest_lost(Channel, const std::string&) override {}
  void when_ready(Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  BrokerStatus status() const override { return local_.status(); }
  void on_node_message(const std::string& channel, NodeMessageFn handler) override {
    handlers[channel] = std::move(handler);
  }
  void send_to_nodes(const std::string& channel, std::string_view body, std::function<void()> done) override {
    {
      std::lock_guard lock(mutex);
      sent.emplace_back(channel, std::string(body));
    }
    if (done) done();
  }
  bool clustered() const override { return true; }
  void on_joined_cluster(std::function<void()> handler) override { joined = std::move(handler); }

  std::vector<std::pair<std::string, std::string>> take() {
    std::lock_guard lock(mutex);
    return std::exchange(sent, {});
  }

  std::map<std::string, NodeMessageFn> handlers;
  std::function<void()> joined;
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> sent;

 private:
  LocalBroker local_;
};

struct Fixture {
  Hub hub;  // no workers: frames go nowhere
  RecordingBroker broker{hub};
  spdlog::logger log{"test", std::make_shared<spdlog::sinks::null_sink_mt>()};
  Presence presence{PresenceSettings{{*TopicPattern::parse("room.*")}, 2, "me"}, broker, hub, log};
  void from_node(std::string_view body) { broker.handlers.at("presence")(body); }
};

std::string events_message(const std::string& node, const std::string& instance, int seq,
                           const std::string& events) {
  return R"({"node":")" + node + R"(","instance":")" + instance + R"(","seq":)" + std::to_string(seq) +
         R"(,"events":)" + events + "}";
}

}  // namespace

TEST(Presence, TracksOnlyPresenceTopicsAndCapsTheList) {
  Fixture f;
  EXPECT_TRUE(f.presence.tracked("room.1"));
  EXPECT_FALSE(f.presence.tracked("room.1.x"));
  EXPECT_FALSE(f.presence.tracked("chat"));
  f.presence.join("room.1", {"c1", "ann"}, 1);
  f.presence.join("room.1", {"c2", "ann"}, 2);
  f.presence.join("room.1", {"c3", "ben"}, 3);
  const auto data = f.presence.data("room.1");
  EXPECT_EQ(data.connections, 3U);
  EXPECT_EQ(data.users, 2U);
  EXPECT_EQ(data.members.size(), 2U);  // PRESENCE_MAX_MEMBERS
  EXPECT_TRUE(data.truncated);
  f.presence.leave("room.1", {"c3", "ben"});
  EXPECT_EQ(f.presence.members(), 2U);
}

TEST(Presence, AppliesOtherNodesEventsAndFullStates) {
  Fixture f;
  // A full state first (what a node sends when asked), then events in sequence.
  f.from_node(
      R"({"node":"n2","instance":"i1","seq":4,"part":0,"last":true,"members":[["room.1","n2-1","ann"]]})");
  f.from_node(events_message("n2", "i1", 5, R"([["j","room.1","n2-2","ben"],["l","room.1","n2-1","ann"]])"));
  auto data = f.presence.data("room.1");
  ASSERT_EQ(data.connections, 1U);
  EXPECT_EQ(data.members[0].client_id, "n2-2");
  EXPECT_TRUE(f.broker.take().empty());  // in sequence: nothing to ask

  // A gap (seq 7 after 5): it asks that node for its whole state.
  f.from_node(events_message("n2", "i1", 7, R"([["j","room.1","n2-3","cat"]])"));
  auto sent = f.broker.take();
  ASSERT_EQ(sent.size(), 1U);
  EXPECT_EQ(sent[0].first, "presence_sync");
  EXPECT_NE(sent[0].second.find(R"("want":"n2")"), std::string::npos);

  // The node restarted (another instance): its earlier members are gone.
  f.from_node(events_message("n2", "i2", 1, R"([["j","room.1","n2-9","dan"]])"));
  data = f.presence.data("room.1");
  ASSERT_EQ(data.connections, 1U);
  EXPECT_EQ(data.members[0].user_id, "dan");

  // It says goodbye: all of its members leave.
  f.from_node(R"({"node":"n2","instance":"i2","bye":true})");
  EXPECT_EQ(f.presence.members(), 0U);
}

TEST(Presence, HostileNodeMessagesChangeNothing) {
  Fixture f;
  f.presence.join("room.1", {"c1", "ann"}, 1);
  const std::vector<std::string> hostile = {
      "",
      "not json",
      "[]",
      R"({"node":7,"instance":"i","seq":1,"events":[]})",
      R"({"node":"me","instance":"i","bye":true})",  // pretends to be this node
      R"({"node":"","instance":"i","bye":true})",
      R"({"node":"n3","instance":"i","seq":-5,"events":"x"})",
      events_message("n3", "i", 1, R"([["j","room..1","c","u"]])"),  // not a topic
      events_message("n3", "i", 2, R"([["x","room.1","c","u"]])"),   // neither j nor l
      events_message("n3", "i", 3, R"([["j","room.1","","u"]])"),    // no client id
      events_message("n3", "i", 4, R"([["j","room.1",7,"u"]])"),
      events_message("n3", "i", 5, R"([["j","room.1","c"]])"),
      events_message("n3", "i", 6, std::string(100, '[') + std::string(100, ']')),
      events_message("n3", "i", 7, R"([["j","room.1","c",")" + std::string(300, 'u') + R"("]])"),
      R"({"node":"n3","instance":"i","seq":8,"part":0,"last":true,"members":[["room.1"],5,["a..b","c","u"]]})",
  };
  for (const auto& message : hostile) f.from_node(message);
  EXPECT_EQ(f.presence.members(), 1U);
  EXPECT_EQ(f.presence.data("room.1").connections, 1U);

  // A huge list is taken as it comes (each member checked), not refused whole.
  std::string many = "[";
  for (int i = 0; i < 20000; ++i) {
    if (i != 0) many += ',';
    many += R"(["j","room.2","n4-)" + std::to_string(i) + R"(","u)" + std::to_string(i % 100) + R"("])";
  }
  many += "]";
  f.from_node(events_message("n4", "i", 0, many));
  const auto data = f.presence.data("room.2");
  EXPECT_EQ(data.connections, 20000U);
  EXPECT_EQ(data.users, 100U);
  EXPECT_EQ(data.members.size(), 2U);
}

TEST(Presence, AnswersSyncRequestsWithItsStateInParts) {
  Fixture f;
  for (int i = 0; i < 2500; ++i) f.presence.join("room.1", {std::to_string(i), "u"}, 1);
  f.broker.handlers.at("presence_sync")(R"({"node":"n2","want":"someone-else"})");
  EXPECT_TRUE(f.broker.take().empty());
  f.broker.handlers.at("presence_sync")(R"({"node":"n2","want":"*"})");
  auto sent = f.broker.take();
  ASSERT_EQ(sent.size(), 3U);  // 1,000 members a part
  std::size_t members = 0;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto value = boost::json::parse(sent[i].second).as_object();
    EXPECT_EQ(value.at("part").as_int64(), static_cast<std::int64_t>(i));
    EXPECT_EQ(value.contains("last"), i + 1 == sent.size());
    members += value.at("members").as_array().size();
  }
  EXPECT_EQ(members, 2500U);
  // Joining the cluster: its own state to the others, and a request for theirs.
  f.broker.joined();
  sent = f.broker.take();
  ASSERT_EQ(sent.size(), 4U);
  EXPECT_EQ(sent.back().first, "presence_sync");
}
