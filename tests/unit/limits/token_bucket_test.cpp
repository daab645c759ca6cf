#include "limits/token_bucket.hpp"

#include <gtest/gtest.h>

using natsync::TokenBucket;
using namespace std::chrono_literals;

TEST(TokenBucket, AllowsABurstThenTheRate) {
  const auto start = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(10, 5, start);  // 10 a second, 5 at once
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(start)) << i;
  EXPECT_FALSE(bucket.take(start));
  EXPECT_GT(bucket.wait_time(start), 0ms);
  EXPECT_LE(bucket.wait_time(start), 101ms);  // float arithmetic
  EXPECT_TRUE(bucket.take(start + 101ms));    // one token back after 1/rate
  EXPECT_FALSE(bucket.take(start + 101ms));
  // Saved tokens never exceed the burst, however long the pause.
  int taken = 0;
  while (bucket.take(start + 1h)) ++taken;
  EXPECT_EQ(taken, 5);
}

TEST(TokenBucket, RateZeroIsOff) {
  const auto now = TokenBucket::Clock::now();
  TokenBucket bucket(0, 1, now);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(bucket.take(now));
  EXPECT_EQ(bucket.wait_time(now), 0ms);
}

TEST(TokenBucket, ClockGoingBackwardsGivesNothingAway) {
  const auto start = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(1, 1, start);
  EXPECT_TRUE(bucket.take(start));
  EXPECT_FALSE(bucket.take(start - 10s));
  EXPECT_FALSE(bucket.full(start - 10s));
  EXPECT_TRUE(bucket.full(start + 1s));
}
