#include "metrics/counters.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace natsync {
namespace {

TEST(Counters, AnOwnedCounterIsReadFromAnotherThreadWhileItsOwnerAdds) {
  OwnedCounter counter;
  std::thread owner([&counter] {
    for (int i = 0; i < 100'000; ++i) counter.add();
  });
  std::uint64_t seen = 0;
  while (seen < 100'000) {
    const auto now = counter.value();
    EXPECT_GE(now, seen);  // never goes back
    seen = now;
  }
  owner.join();
  EXPECT_EQ(counter.value(), 100'000U);
}

TEST(Counters, TheHistogramPutsEachLatencyInItsBucketAndSumsThem) {
  LatencyHistogram histogram;
  histogram.observe(std::chrono::microseconds(10));   // <= 50 us
  histogram.observe(std::chrono::microseconds(50));   // on the bound: that bucket
  histogram.observe(std::chrono::microseconds(700));  // <= 1 ms
  histogram.observe(std::chrono::seconds(3));         // over every bound
  histogram.observe(std::chrono::nanoseconds(-5));    // a clock that went back counts as 0
  EXPECT_EQ(histogram.bucket(0), 3U);
  EXPECT_EQ(histogram.bucket(4), 1U);
  EXPECT_EQ(histogram.bucket(LatencyHistogram::kBounds.size()), 1U);
  EXPECT_NEAR(histogram.sum_seconds(), 3.00076, 1e-9);
}

TEST(Counters, DisconnectCodesKnownAndOther) {
  WorkerMetrics metrics;
  metrics.count_disconnect(1000);
  metrics.count_disconnect(4008);
  metrics.count_disconnect(4999);  // a peer's own code
  metrics.count_disconnect(0);
  EXPECT_EQ(metrics.disconnects[DisconnectCodes::index(1000)].value(), 1U);
  EXPECT_EQ(metrics.disconnects[DisconnectCodes::index(4008)].value(), 1U);
  EXPECT_EQ(metrics.disconnects[DisconnectCodes::kCodes.size() - 1].value(), 2U);
  EXPECT_EQ(auth_failure_for(ErrorCode::token_expired), AuthFailure::expired);
  EXPECT_EQ(auth_failure_for(ErrorCode::invalid_message), AuthFailure::bad_token);
}

}  // namespace
}  // namespace natsync
