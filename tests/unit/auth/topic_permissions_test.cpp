#include "auth/topic_permissions.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

using natsync::is_foreign_personal_topic;
using natsync::split_list;
using natsync::TopicPattern;
using natsync::TopicPermissions;

namespace {

bool matches(std::string_view pattern, std::string_view topic) {
  auto parsed = TopicPattern::parse(pattern);
  EXPECT_TRUE(parsed) << pattern;
  return parsed && parsed->matches(topic);
}

}  // namespace

TEST(TopicPattern, LiteralStarAndTail) {
  EXPECT_TRUE(matches("chat.room1", "chat.room1"));
  EXPECT_FALSE(matches("chat.room1", "chat.room2"));
  EXPECT_FALSE(matches("chat.room1", "chat.room1.x"));
  EXPECT_FALSE(matches("chat.room1", "chat"));
  EXPECT_TRUE(matches("chat.*", "chat.room1"));
  EXPECT_FALSE(matches("chat.*", "chat"));
  EXPECT_FALSE(matches("chat.*", "chat.a.b"));
  EXPECT_TRUE(matches("*.b.*", "a.b.c"));
  EXPECT_FALSE(matches("*.b.*", "a.x.c"));
  EXPECT_TRUE(matches("orders.>", "orders.eu"));
  EXPECT_TRUE(matches("orders.>", "orders.eu.1.2"));
  EXPECT_FALSE(matches("orders.>", "orders"));
  EXPECT_FALSE(matches("orders.>", "ordersx.eu"));
  EXPECT_TRUE(matches(">", "anything.at.all"));
  EXPECT_TRUE(matches("*", "one"));
  EXPECT_FALSE(matches("*", "one.two"));
}

TEST(TopicPattern, HostilePatternsAreRefused) {
  for (const std::string_view bad :
       {"", ".", "a..b", "a.", ".a", ">.a", "a.>.b", "a.b>", "a.*b", "a b", "**", "a.>>", "\xff", "a.\0"}) {
    EXPECT_FALSE(TopicPattern::parse(bad)) << bad;
  }
  EXPECT_FALSE(TopicPattern::parse(std::string(257, 'a')));
  EXPECT_TRUE(TopicPattern::parse(std::string(256, 'a')));
}

TEST(TopicPermissions, ListsAndChecks) {
  std::string error;
  auto subscribe = TopicPattern::parse_list(split_list(" chat.*, news.> ,"), error);
  ASSERT_TRUE(subscribe) << error;
  TopicPermissions permissions{*subscribe, {}};
  EXPECT_TRUE(permissions.may_subscribe("chat.a"));
  EXPECT_TRUE(permissions.may_subscribe("news.eu.today"));
  EXPECT_FALSE(permissions.may_subscribe("admin"));
  EXPECT_FALSE(permissions.may_publish("chat.a")) << "an empty list allows nothing";
  EXPECT_FALSE(TopicPattern::parse_list(split_list("chat.*, bad..pattern"), error));
  EXPECT_NE(error.find("bad..pattern"), std::string::npos);
  auto none = TopicPattern::parse_list(split_list(""), error);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(TopicPermissions, PersonalTopicsBelongToTheirUser) {
  EXPECT_FALSE(is_foreign_personal_topic("private.alice", "private", "alice"));
  EXPECT_FALSE(is_foreign_personal_topic("private.alice.inbox", "private", "alice"));
  EXPECT_TRUE(is_foreign_personal_topic("private.alice", "private", "bob"));
  EXPECT_TRUE(is_foreign_personal_topic("private.alice.inbox", "private", "bob"));
  EXPECT_TRUE(is_foreign_personal_topic("private.alice", "private", "")) << "anonymous owns nothing";
  EXPECT_FALSE(is_foreign_personal_topic("privateer.x", "private", "bob"));
  EXPECT_FALSE(is_foreign_personal_topic("private", "private", "bob"));
  EXPECT_FALSE(is_foreign_personal_topic("private.alice", "", "bob")) << "empty prefix: off";
}
