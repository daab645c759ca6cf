#include "limits/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <vector>

using natsync::ConnectionLimiter;
using natsync::ConnectionLimits;
using Reason = ConnectionLimiter::Reason;
using namespace std::chrono_literals;

namespace {

constexpr auto kNow = std::chrono::steady_clock::time_point{} + 1h;
const boost::asio::ip::address kIpA = boost::asio::ip::address_v4::loopback();
const boost::asio::ip::address kIpB = boost::asio::ip::address_v6::loopback();

std::optional<Reason> refused(
    std::variant<ConnectionLimiter::Ticket, ConnectionLimiter::Refusal>& admission) {
  if (auto* refusal = std::get_if<ConnectionLimiter::Refusal>(&admission)) return refusal->reason;
  return std::nullopt;
}

}  // namespace

TEST(ConnectionLimiter, NoLimitsAdmitsEveryoneAndCountsNothing) {
  ConnectionLimiter limiter(ConnectionLimits{});
  std::vector<ConnectionLimiter::Ticket> tickets;
  for (int i = 0; i < 1000; ++i) {
    auto admission = limiter.admit(kIpA, "same", kNow);
    ASSERT_FALSE(refused(admission));
    tickets.push_back(std::move(std::get<ConnectionLimiter::Ticket>(admission)));
  }
  EXPECT_EQ(limiter.connections(), 0U);
  EXPECT_EQ(sizeof(ConnectionLimiter::Ticket), sizeof(void*)) << "an uncounted connection pays one pointer";
}

TEST(ConnectionLimiter, NodeLimitRefusesWithRetryAfterAndFreesOnClose) {
  ConnectionLimiter limiter(ConnectionLimits{.max_connections = 2});
  auto first = limiter.admit(kIpA, "", kNow);
  auto second = limiter.admit(kIpB, "", kNow);
  ASSERT_FALSE(refused(first));
  ASSERT_FALSE(refused(second));
  auto third = limiter.admit(kIpA, "", kNow);
  ASSERT_EQ(refused(third), Reason::server_full);
  EXPECT_GE(std::get<ConnectionLimiter::Refusal>(third).retry_after, 1s);
  first = ConnectionLimiter::Refusal{};  // the first connection closes: its ticket is destroyed
  EXPECT_EQ(limiter.connections(), 1U);
  auto fourth = limiter.admit(kIpA, "", kNow);
  EXPECT_FALSE(refused(fourth));
}

TEST(ConnectionLimiter, PerIpAndPerUserLimitsAreSeparate) {
  ConnectionLimiter limiter(ConnectionLimits{.per_ip = 2, .per_user = 1});
  auto a1 = limiter.admit(kIpA, "alice", kNow);
  auto a2 = limiter.admit(kIpA, "", kNow);  // anonymous: not counted per user
  ASSERT_FALSE(refused(a1));
  ASSERT_FALSE(refused(a2));
  auto a3 = limiter.admit(kIpA, "bob", kNow);
  EXPECT_EQ(refused(a3), Reason::too_many_from_ip);
  auto b1 = limiter.admit(kIpB, "alice", kNow);
  EXPECT_EQ(refused(b1), Reason::too_many_for_user);
  auto b2 = limiter.admit(kIpB, "bob", kNow);
  EXPECT_FALSE(refused(b2));
}

TEST(ConnectionLimiter, AUserKnownOnlyAfterAuthIsCountedThen) {
  ConnectionLimiter limiter(ConnectionLimits{.per_user = 1});
  auto first = limiter.admit(kIpA, "", kNow);
  auto second = limiter.admit(kIpA, "", kNow);
  auto& ticket1 = std::get<ConnectionLimiter::Ticket>(first);
  auto& ticket2 = std::get<ConnectionLimiter::Ticket>(second);
  EXPECT_TRUE(ticket1.assign_user("carol"));
  EXPECT_TRUE(ticket1.assign_user("carol")) << "re-authenticating as the same user takes no new place";
  EXPECT_FALSE(ticket2.assign_user("carol"));
  EXPECT_TRUE(ticket2.assign_user("dave"));
  first = ConnectionLimiter::Refusal{};  // carol's connection closes
  auto third = limiter.admit(kIpB, "carol", kNow);
  EXPECT_FALSE(refused(third));
}

TEST(ConnectionLimiter, RatePerIpRefusesABurstOverItUntilTimePasses) {
  ConnectionLimiter limiter(ConnectionLimits{.rate_per_ip = 5});
  for (int i = 0; i < 5; ++i) {
    auto admission = limiter.admit(kIpA, "", kNow);
    ASSERT_FALSE(refused(admission)) << i;
  }
  auto over = limiter.admit(kIpA, "", kNow);
  ASSERT_EQ(refused(over), Reason::rate_per_ip);
  EXPECT_GE(std::get<ConnectionLimiter::Refusal>(over).retry_after, 1s);
  auto other_ip = limiter.admit(kIpB, "", kNow);
  EXPECT_FALSE(refused(other_ip));
  auto later = limiter.admit(kIpA, "", kNow + 1s);
  EXPECT_FALSE(refused(later));
}

TEST(ConnectionLimiter, HostileManyAddressesDoNotGrowTheRateTableWithoutBound) {
  ConnectionLimiter limiter(ConnectionLimits{.rate_per_ip = 1});
  // 100,000 addresses, one connection each, one second apart in groups: buckets that
  // have refilled are forgotten, so the table stays near the pruning threshold.
  for (std::uint32_t i = 0; i < 100000; ++i) {
    const auto when = kNow + std::chrono::seconds(i / 1000);
    auto admission = limiter.admit(boost::asio::ip::address_v4(0x0a000000U + i), "", when);
    ASSERT_FALSE(refused(admission));
  }
  auto again = limiter.admit(boost::asio::ip::address_v4(0x0a000000U + 99999), "", kNow + 99s);
  EXPECT_EQ(refused(again), Reason::rate_per_ip) << "a fresh entry is still remembered";
}
