#include "auth/origin_policy.hpp"

#include <gtest/gtest.h>

using natsync::OriginPolicy;

TEST(OriginPolicy, EmptyListAllowsAny) {
  OriginPolicy policy({});
  EXPECT_TRUE(policy.allows("https://evil.example"));
  EXPECT_TRUE(policy.allows(""));
}

TEST(OriginPolicy, ListedOriginsOnly) {
  OriginPolicy policy({"https://app.example.com", "http://localhost:3000/"});
  EXPECT_TRUE(policy.allows("https://app.example.com"));
  EXPECT_TRUE(policy.allows("HTTPS://APP.EXAMPLE.COM"));
  EXPECT_TRUE(policy.allows("http://localhost:3000"));
  EXPECT_FALSE(policy.allows("https://app.example.com.evil.example"));
  EXPECT_FALSE(policy.allows("https://evil.example"));
  EXPECT_FALSE(policy.allows("null"));
  // Non-browser clients send no Origin at all.
  EXPECT_TRUE(policy.allows(""));
}

TEST(OriginPolicy, StarAllowsAny) {
  OriginPolicy policy({"*"});
  EXPECT_TRUE(policy.allows("https://anything.example"));
}
