#include "hub/local_hub.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <map>
#include <thread>

#include "hub/hub.hpp"

using namespace natsync;

namespace {

struct Recorder final : Subscriber {
  explicit Recorder(std::uint64_t id) : Subscriber(id) {}
  void deliver(const Frame& frame) override { frames.emplace_back(frame->payload()); }
  std::vector<std::string> frames;
};

Publication to_topic(std::string topic, std::string_view payload, std::uint64_t exclude = 0) {
  return Publication{Publication::Target::topic, std::move(topic), make_text_frame(payload), exclude};
}

}  // namespace

TEST(LocalHub, DeliversToTopicSubscribersOnly) {
  LocalHub hub;
  Recorder a(1), b(2), c(3);
  EXPECT_TRUE(hub.add(a, "alice"));  // first connection of alice on this worker
  EXPECT_TRUE(hub.add(b, "bob"));
  EXPECT_FALSE(hub.add(c, ""));  // anonymous: no user key
  EXPECT_EQ(hub.subscribe(a, "t"), IndexChange::key_appeared);
  EXPECT_EQ(hub.subscribe(b, "t"), IndexChange::changed);
  EXPECT_EQ(hub.subscribe(b, "t"), IndexChange::unchanged);  // idempotent
  EXPECT_EQ(hub.subscribe(c, "other"), IndexChange::key_appeared);

  EXPECT_EQ(hub.deliver(to_topic("t", "m1")), 2U);
  EXPECT_EQ(a.frames, std::vector<std::string>{"m1"});
  EXPECT_EQ(b.frames, std::vector<std::string>{"m1"});
  EXPECT_TRUE(c.frames.empty());
  EXPECT_EQ(hub.deliver(to_topic("nobody", "m")), 0U);
}

TEST(LocalHub, ExcludesTheSender) {
  LocalHub hub;
  Recorder a(1), b(2);
  hub.add(a, "");
  hub.add(b, "");
  hub.subscribe(a, "t");
  hub.subscribe(b, "t");
  EXPECT_EQ(hub.deliver(to_topic("t", "m", /*exclude=*/1)), 1U);
  EXPECT_TRUE(a.frames.empty());
  EXPECT_EQ(b.frames.size(), 1U);
}

TEST(LocalHub, UserAndBroadcastTargets) {
  LocalHub hub;
  Recorder a1(1), a2(2), b(3);
  EXPECT_TRUE(hub.add(a1, "alice"));
  EXPECT_FALSE(hub.add(a2, "alice"));
  hub.add(b, "bob");
  EXPECT_EQ(hub.deliver({Publication::Target::user, "alice", make_text_frame("p"), 0}), 2U);
  EXPECT_EQ(hub.deliver({Publication::Target::all, "", make_text_frame("all"), 0}), 3U);
  EXPECT_EQ(b.frames, std::vector<std::string>{"all"});
  hub.add(b, "bob");  // adding twice changes nothing
  EXPECT_EQ(hub.connection_count(), 3U);
  EXPECT_EQ(hub.remove(b), (std::vector<LocalHub::Key>{{Channel::user, "bob"}}));
  hub.add(b, "alice");
  EXPECT_EQ(hub.deliver({Publication::Target::user, "alice", make_text_frame("q"), 0}), 3U);
  EXPECT_EQ(hub.deliver({Publication::Target::user, "bob", make_text_frame("q"), 0}), 0U);
}

TEST(LocalHub, RemoveLeavesNothingBehind) {
  LocalHub hub;
  std::vector<std::unique_ptr<Recorder>> subscribers;
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    subscribers.push_back(std::make_unique<Recorder>(i));
    hub.add(*subscribers.back(), "user" + std::to_string(i % 7));
    hub.subscribe(*subscribers.back(), "shared");
    hub.subscribe(*subscribers.back(), "own." + std::to_string(i));
  }
  EXPECT_EQ(hub.topic_count(), 1001U);
  EXPECT_EQ(hub.unsubscribe(*subscribers[0], "shared"), IndexChange::changed);
  EXPECT_EQ(hub.unsubscribe(*subscribers[0], "shared"), IndexChange::unchanged);
  EXPECT_EQ(hub.unsubscribe(*subscribers[0], "own.1"), IndexChange::key_vanished);
  // Removing reports exactly the keys left without a local subscriber: each own.N, the
  // shared topic with the last of them, and each user with its last connection.
  std::size_t vanished = 0;
  for (auto& s : subscribers) vanished += hub.remove(*s).size();
  EXPECT_EQ(vanished, 999U + 1U + 7U);
  EXPECT_TRUE(hub.remove(*subscribers[0]).empty());  // twice is harmless
  EXPECT_EQ(hub.connection_count(), 0U);
  EXPECT_EQ(hub.topic_count(), 0U);
  EXPECT_EQ(hub.deliver({Publication::Target::user, "user1", make_text_frame("x"), 0}), 0U);
}

TEST(LocalHub, UnknownSubscriberCannotSubscribe) {
  LocalHub hub;
  Recorder stranger(9);
  EXPECT_EQ(hub.subscribe(stranger, "t"), IndexChange::unchanged);
  EXPECT_FALSE(hub.contains(stranger));
}

// Publications from several threads reach every worker shard in each publisher's
// order, and nothing is lost or duplicated.
TEST(Hub, PreservesPerPublisherOrderAcrossShards) {
  constexpr int kShards = 3, kPublishers = 4, kMessages = 2000;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts;
  std::vector<std::unique_ptr<LocalHub>> locals;
  std::vector<std::unique_ptr<Recorder>> recorders;
  Hub hub;
  for (int s = 0; s < kShards; ++s) {
    contexts.push_back(std::make_unique<boost::asio::io_context>(1));
    locals.push_back(std::make_unique<LocalHub>());
    recorders.push_back(std::make_unique<Recorder>(static_cast<std::uint64_t>(s + 1)));
    locals.back()->add(*recorders.back(), "");
    locals.back()->subscribe(*recorders.back(), "t");
    hub.add_shard({contexts.back()->get_executor(), locals.back().get()});
  }
  std::vector<std::thread> publishers;
  publishers.reserve(kPublishers);
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&hub, p] {
      for (int i = 0; i < kMessages; ++i) {
        hub.dispatch(
            std::make_shared<Publication>(to_topic("t", std::to_string(p) + ":" + std::to_string(i))));
      }
    });
  }
  std::vector<std::thread> runners;
  runners.reserve(contexts.size());
  for (auto& context : contexts) runners.emplace_back([&context] { context->run(); });
  for (auto& t : publishers) t.join();
  for (auto& t : runners) t.join();
  for (auto& context : contexts) context->restart(), context->run();

  for (const auto& recorder : recorders) {
    ASSERT_EQ(recorder->frames.size(), static_cast<std::size_t>(kPublishers * kMessages));
    std::map<int, int> next;
    for (const auto& frame : recorder->frames) {
      const auto colon = frame.find(':');
      const int publisher = std::stoi(frame.substr(0, colon));
      const int seq = std::stoi(frame.substr(colon + 1));
      EXPECT_EQ(seq, next[publisher]) << "publisher " << publisher;
      next[publisher] = seq + 1;
    }
  }
}

TEST(PatternIndex, MatchesLikeNats) {
  PatternIndex index;
  Recorder a(1), b(2), c(3), d(4);
  EXPECT_TRUE(index.add("chat.*", &a));
  EXPECT_FALSE(index.add("chat.*", &a));  // idempotent
  EXPECT_TRUE(index.add("chat.>", &b));
  EXPECT_TRUE(index.add("*.room.*", &c));
  EXPECT_TRUE(index.add(">", &d));
  const auto match = [&](std::string_view topic) {
    std::vector<Subscriber*> out;
    index.match(topic, out);
    std::vector<std::uint64_t> ids;
    for (auto* s : out) ids.push_back(s->id());
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(match("chat.x"), (std::vector<std::uint64_t>{1, 2, 4}));
  EXPECT_EQ(match("chat.room.1"), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(match("chat"), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(match("news.room.x"), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(index.size(), 4U);
  EXPECT_TRUE(index.remove("chat.*", &a));
  EXPECT_FALSE(index.remove("chat.*", &a));
  EXPECT_FALSE(index.remove("chat.*.x", &a));  // never added: nothing happens
  EXPECT_TRUE(index.remove("chat.>", &b));
  EXPECT_TRUE(index.remove("*.room.*", &c));
  EXPECT_TRUE(index.remove(">", &d));
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(match("chat.x"), std::vector<std::uint64_t>{});
}

TEST(LocalHub, PatternsDeliverOncePerConnection) {
  LocalHub hub;
  Recorder a(1), b(2), c(3);
  hub.add(a, "alice");
  hub.add(b, "bob");
  hub.add(c, "carol");
  EXPECT_EQ(hub.subscribe(a, "chat.*"), IndexChange::key_appeared);  // the broker's interest
  EXPECT_EQ(hub.subscribe(a, "chat.>"), IndexChange::key_appeared);
  EXPECT_EQ(hub.subscribe(a, "chat.x"), IndexChange::key_appeared);
  EXPECT_EQ(hub.subscribe(b, "chat.*"), IndexChange::changed);
  EXPECT_EQ(hub.subscribe(c, "chat.x"), IndexChange::changed);

  // a matches three ways, b one, c exactly: each gets it once.
  EXPECT_EQ(hub.deliver(to_topic("chat.x", "m1")), 3U);
  EXPECT_EQ(a.frames, std::vector<std::string>{"m1"});
  EXPECT_EQ(b.frames, std::vector<std::string>{"m1"});
  EXPECT_EQ(c.frames, std::vector<std::string>{"m1"});
  EXPECT_EQ(hub.deliver(to_topic("chat.y.z", "m2")), 1U);   // chat.> only
  EXPECT_EQ(hub.deliver(to_topic("chat.x", "m3", 2)), 2U);  // the sender is still excluded

  // A document change or a presence event: the topic's own subscribers only.
  auto exact = to_topic("chat.x", "m4");
  exact.exact_only = true;
  EXPECT_EQ(hub.deliver(exact), 2U);
  EXPECT_EQ(b.frames.back(), "m1");

  // The cache follows every change.
  EXPECT_EQ(hub.unsubscribe(a, "chat.>"), IndexChange::key_vanished);
  EXPECT_EQ(hub.deliver(to_topic("chat.y.z", "m5")), 0U);
  EXPECT_EQ(hub.unsubscribe(c, "chat.x"), IndexChange::changed);
  EXPECT_EQ(hub.deliver(to_topic("chat.x", "m6")), 2U);
  EXPECT_EQ(c.frames.back(), "m4");
  EXPECT_EQ(hub.subscribe(c, "*.x"), IndexChange::key_appeared);
  EXPECT_EQ(hub.deliver(to_topic("chat.x", "m7")), 3U);

  // A closed connection leaves no pattern behind.
  auto vanished = hub.remove(a);
  EXPECT_EQ(vanished.size(), 2U);  // chat.x and alice; b still has chat.*
  EXPECT_EQ(hub.deliver(to_topic("chat.x", "m8")), 2U);
  hub.remove(b);
  hub.remove(c);
  EXPECT_EQ(hub.pattern_count(), 0U);
  EXPECT_EQ(hub.topic_count(), 0U);
  EXPECT_EQ(hub.deliver(to_topic("chat.x", "m9")), 0U);
}
