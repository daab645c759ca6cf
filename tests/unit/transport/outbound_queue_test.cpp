#include "transport/outbound_queue.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace natsync;

namespace {

std::string concat(const OutboundQueue::Batch& batch) {
  std::string out;
  for (auto it = batch.begin(); it != batch.end(); ++it) {
    const boost::asio::const_buffer buffer = *it;
    out.append(static_cast<const char*>(buffer.data()), buffer.size());
  }
  return out;
}

// The wire bytes of text frames holding `texts`, one after the other.
std::string wire(std::initializer_list<std::string_view> texts) {
  std::string out;
  for (auto text : texts) out.append(make_text_frame(text)->bytes());
  return out;
}

}  // namespace

TEST(OutboundQueue, BatchCarriesEveryUnsentFrameInOrderUpToTheLimit) {
  OutboundQueue queue;
  for (int i = 0; i < 5; ++i) queue.push(make_text_frame(std::string("m").append(std::to_string(i))));
  EXPECT_TRUE(queue.has_unsent());
  const auto batch = queue.take(3);
  EXPECT_EQ(concat(batch), wire({"m0", "m1", "m2"}));
  EXPECT_EQ(boost::asio::buffer_size(batch), 3 * wire({"m0"}).size());
  EXPECT_TRUE(queue.in_flight());
  EXPECT_TRUE(queue.has_unsent());
  queue.written();
  EXPECT_EQ(concat(queue.take(10)), wire({"m3", "m4"}));
  queue.written();
  EXPECT_FALSE(queue.has_unsent());
  EXPECT_EQ(queue.bytes(), 0U);
}

TEST(OutboundQueue, BatchStaysValidWhileFramesAreQueuedBehindIt) {
  OutboundQueue queue;
  queue.push(make_text_frame("first"));
  const auto batch = queue.take(8);
  // Enough pushes to reallocate the vector several times over.
  for (int i = 0; i < 1000; ++i) queue.push(make_text_frame("later"));
  EXPECT_EQ(concat(batch), wire({"first"}));
  queue.written();
  EXPECT_EQ(concat(queue.take(1)), wire({"later"}));
}

TEST(OutboundQueue, DropUnsentKeepsTheBatchInFlight) {
  OutboundQueue queue;
  queue.push(make_text_frame("a"));
  queue.push(make_text_frame("b"));
  const auto batch = queue.take(1);
  queue.push(make_text_frame("c"));
  queue.drop_unsent();
  EXPECT_EQ(concat(batch), wire({"a"}));
  EXPECT_EQ(queue.bytes(), wire({"a"}).size());
  EXPECT_FALSE(queue.has_unsent());
  queue.written();
  EXPECT_EQ(queue.bytes(), 0U);
}

TEST(OutboundQueue, LongRunningQueueCompactsItsDrainedPrefix) {
  OutboundQueue queue;
  for (int round = 0; round < 1000; ++round) {
    queue.push(make_text_frame("x"));
    queue.push(make_text_frame("y"));
    (void)queue.take(1);
    queue.written();
  }
  // One frame written per round, two queued: 1000 remain, in order.
  std::size_t remaining = 0;
  while (queue.has_unsent()) {
    const auto batch = queue.take(64);
    remaining += static_cast<std::size_t>(batch.end() - batch.begin());
    queue.written();
  }
  EXPECT_EQ(remaining, 1000U);
}
