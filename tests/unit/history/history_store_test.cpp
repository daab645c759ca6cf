#include "history/history_store.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "protocol/server_message.hpp"

using namespace natsync;
using namespace std::chrono_literals;
using Clock = HistoryStore::Clock;

namespace {

HistorySettings settings(std::string_view patterns, std::size_t size = 5, Clock::duration ttl = 60s) {
  std::string error;
  return HistorySettings{*TopicPattern::parse_list(split_list(patterns), error), size, ttl};
}

// Publishes `data` on `topic` and returns its position; `published` records the frames
// handed on, in order.
HistoryStore::Appended append(HistoryStore& store, std::string_view topic, std::string_view data,
                              Clock::time_point now, std::vector<std::string>* published = nullptr,
                              std::string_view idempotency_key = {}) {
  return store.append(
      topic, now, [&](const StreamPosition& at) { return make_topic_data_frame(topic, data, &at); },
      [&](const Frame& frame, const StreamPosition&) {
        if (published != nullptr) published->emplace_back(frame->payload());
      },
      idempotency_key);
}

StreamPosition publish(HistoryStore& store, std::string_view topic, std::string_view data,
                       Clock::time_point now, std::vector<std::string>* published = nullptr) {
  return append(store, topic, data, now, published).position;
}

std::vector<std::string> payloads(const std::vector<Frame>& frames) {
  std::vector<std::string> out;
  out.reserve(frames.size());
  for (const auto& frame : frames) out.emplace_back(frame->payload());
  return out;
}

}  // namespace

TEST(HistoryStore, OnlyTopicsMatchingDurableTopicsKeepHistory) {
  HistoryStore store(settings("orders.>,chat.*"));
  EXPECT_TRUE(store.durable("orders.1"));
  EXPECT_TRUE(store.durable("orders.1.items"));
  EXPECT_TRUE(store.durable("chat.room"));
  EXPECT_FALSE(store.durable("chat.room.x"));
  EXPECT_FALSE(store.durable("news"));
}

TEST(HistoryStore, OffsetsCountFromOneInOneEpochPerTopicAndFramesCarryThem) {
  HistoryStore store(settings(">"));
  const auto now = Clock::now();
  std::vector<std::string> published;
  const auto a1 = publish(store, "a", "1", now, &published);
  const auto a2 = publish(store, "a", "2", now, &published);
  const auto b1 = publish(store, "b", "1", now);
  EXPECT_EQ(a1.offset, 1U);
  EXPECT_EQ(a2.offset, 2U);
  EXPECT_EQ(b1.offset, 1U);
  EXPECT_EQ(a1.epoch, a2.epoch);
  EXPECT_NE(a1.epoch, b1.epoch);
  EXPECT_EQ(a1.epoch.size(), 12U);
  ASSERT_EQ(published.size(), 2U);
  EXPECT_EQ(published[1], R"({"type":"data","topic":"a","offset":2,"epoch":")" + a1.epoch + R"(","data":2})");
  EXPECT_EQ(frame_data(published[1]), "2") << "data still found between nodes";
}

TEST(HistoryStore, RecoversExactlyWhatFollowsTheGivenOffset) {
  HistoryStore store(settings(">"));
  const auto now = Clock::now();
  StreamPosition last;
  for (int i = 1; i <= 4; ++i) last = publish(store, "t", std::to_string(i), now);
  auto recovery = store.recover("t", {2, last.epoch}, now);
  EXPECT_TRUE(recovery.recovered);
  EXPECT_EQ(recovery.position.offset, 4U);
  ASSERT_EQ(recovery.frames.size(), 2U);
  EXPECT_EQ(frame_data(recovery.frames[0]->payload()), "3");
  EXPECT_EQ(frame_data(recovery.frames[1]->payload()), "4");

  auto up_to_date = store.recover("t", {4, last.epoch}, now);
  EXPECT_TRUE(up_to_date.recovered);
  EXPECT_TRUE(up_to_date.frames.empty());

  auto from_start = store.recover("t", {0, ""}, now);
  EXPECT_TRUE(from_start.recovered);
  EXPECT_EQ(from_start.frames.size(), 4U);
}

TEST(HistoryStore, AGapItCannotFillIsNotRecoveredAndNothingPartialIsGiven) {
  HistoryStore store(settings(">", 3));
  const auto now = Clock::now();
  StreamPosition last;
  for (int i = 1; i <= 6; ++i) last = publish(store, "t", std::to_string(i), now);  // keeps 4..6
  EXPECT_TRUE(store.recover("t", {3, last.epoch}, now).recovered);
  auto trimmed = store.recover("t", {2, last.epoch}, now);
  EXPECT_FALSE(trimmed.recovered);
  EXPECT_TRUE(trimmed.frames.empty());
  EXPECT_EQ(trimmed.position.offset, 6U) << "so the client can start over from here";
  EXPECT_FALSE(store.recover("t", {5, "another"}, now).recovered) << "another epoch";
  EXPECT_FALSE(store.recover("t", {7, last.epoch}, now).recovered) << "an offset never given";
  EXPECT_FALSE(store.recover("t", {0, ""}, now).recovered) << "offset 1 is gone";
  EXPECT_FALSE(store.recover("never", {3, last.epoch}, now).recovered);
  EXPECT_TRUE(store.recover("never", {0, ""}, now).recovered) << "nothing stored, nothing missed";
}

TEST(HistoryStore, MessagesExpireAndATopicWithNothingLeftGetsANewEpoch) {
  HistoryStore store(settings(">", 100, 10s));
  const auto start = Clock::now();
  const auto first = publish(store, "t", "1", start);
  publish(store, "t", "2", start + 6s);
  auto later = store.recover("t", {0, ""}, start + 11s);
  EXPECT_FALSE(later.recovered) << "offset 1 expired";
  EXPECT_TRUE(store.recover("t", {1, first.epoch}, start + 11s).recovered);
  EXPECT_EQ(store.messages(), 1U);
  EXPECT_EQ(store.expire(start + 17s), 0U) << "everything expired: the topic is forgotten";
  EXPECT_EQ(store.position("t", start + 17s).offset, 0U);
  const auto again = publish(store, "t", "3", start + 18s);
  EXPECT_EQ(again.offset, 1U);
  EXPECT_NE(again.epoch, first.epoch);
  EXPECT_FALSE(store.recover("t", {2, first.epoch}, start + 18s).recovered);
}

TEST(HistoryStore, AFloodStaysWithinHistorySize) {
  HistoryStore store(settings(">", 50));
  const auto now = Clock::now();
  for (int i = 0; i < 10000; ++i) publish(store, "flood." + std::to_string(i % 10), "{}", now);
  EXPECT_EQ(store.messages(), 500U);
  const auto page = store.read("flood.3", 0, 1000, now);
  ASSERT_EQ(page.frames.size(), 50U);
  EXPECT_EQ(page.position.offset, 1000U);
  EXPECT_NE(std::string(page.frames.front()->payload()).find(R"("offset":951,)"), std::string::npos);
}

TEST(HistoryStore, ReadPagesFromAnOffset) {
  HistoryStore store(settings(">"));
  const auto now = Clock::now();
  for (int i = 1; i <= 5; ++i) publish(store, "t", std::to_string(i), now);
  EXPECT_EQ(payloads(store.read("t", 3, 10, now).frames).size(), 2U);
  EXPECT_EQ(payloads(store.read("t", 0, 2, now).frames).size(), 2U);
  EXPECT_TRUE(store.read("none", 0, 10, now).frames.empty());
}

TEST(HistoryStore, AnIdempotencyKeyIsPublishedOnceWhileItsMessageIsKept) {
  HistoryStore store(settings(">", 3));
  const auto now = Clock::now();
  std::vector<std::string> published;
  const auto first = append(store, "t", "1", now, &published, "order-17");
  EXPECT_FALSE(first.duplicate);
  const auto again = append(store, "t", "1", now, &published, "order-17");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.position.offset, first.position.offset);
  EXPECT_EQ(again.position.epoch, first.position.epoch);
  EXPECT_EQ(published.size(), 1U) << "not handed on twice";
  EXPECT_FALSE(append(store, "other", "1", now, &published, "order-17").duplicate) << "keys are per topic";
  // Once its message has left the history (HISTORY_SIZE 3), the key is forgotten.
  for (int i = 0; i < 3; ++i) publish(store, "t", "x", now);
  EXPECT_FALSE(append(store, "t", "1", now, &published, "order-17").duplicate);
}
