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

TEST(TopicPattern, CoversOnlyWhatItMatchesAll) {
  const auto covers = [](std::string_view ours, std::string_view theirs) {
    auto parsed = TopicPattern::parse(ours);
    EXPECT_TRUE(parsed) << ours;
    return parsed && parsed->covers(theirs);
  };
  EXPECT_TRUE(covers(">", "a"));
  EXPECT_TRUE(covers(">", "a.*.>"));
  EXPECT_TRUE(covers("chat.>", "chat.*"));
  EXPECT_TRUE(covers("chat.>", "chat.*.x.>"));
  EXPECT_TRUE(covers("chat.*", "chat.*"));
  EXPECT_TRUE(covers("chat.*", "chat.room"));
  EXPECT_TRUE(covers("*.x", "a.x"));
  EXPECT_FALSE(covers("chat.*", "chat.>"));     // `>` may be two tokens
  EXPECT_FALSE(covers("chat.*", "chat.*.x"));   // longer
  EXPECT_FALSE(covers("chat.room", "chat.*"));  // a literal covers only itself
  EXPECT_FALSE(covers("chat.>", "chat"));       // `>` needs one more token
  EXPECT_FALSE(covers("chat.>", ">"));
  EXPECT_FALSE(covers("a.*", "*.*"));
}

TEST(TopicPermissions, PatternSubscriptionsNeedOneCoveringPattern) {
  TopicPermissions permissions;
  std::string error;
  permissions.subscribe = *TopicPattern::parse_list({"chat.>", "news.*"}, error);
  EXPECT_TRUE(permissions.may_subscribe_pattern("chat.*"));
  EXPECT_TRUE(permissions.may_subscribe_pattern("chat.>"));
  EXPECT_TRUE(permissions.may_subscribe_pattern("news.*"));
  EXPECT_FALSE(permissions.may_subscribe_pattern("news.>"));  // could reach news.a.b
  EXPECT_FALSE(permissions.may_subscribe_pattern(">"));
  EXPECT_FALSE(permissions.may_subscribe_pattern("*.x"));  // could reach secret.x
}

TEST(TopicPermissions, PatternsThatCouldReachSomeoneElsesPersonalTopic) {
  using natsync::may_match_foreign_personal_topic;
  EXPECT_TRUE(may_match_foreign_personal_topic(">", "private", "alice"));
  EXPECT_TRUE(may_match_foreign_personal_topic("private.>", "private", "alice"));
  EXPECT_TRUE(may_match_foreign_personal_topic("private.*", "private", "alice"));
  EXPECT_TRUE(may_match_foreign_personal_topic("*.bob", "private", "alice"));
  EXPECT_TRUE(may_match_foreign_personal_topic("*.*.x", "private", "alice"));
  EXPECT_TRUE(may_match_foreign_personal_topic("p.*.>", "p.u", "alice"));                 // two-token prefix
  EXPECT_FALSE(may_match_foreign_personal_topic("private.alice.>", "private", "alice"));  // her own
  EXPECT_FALSE(may_match_foreign_personal_topic("private.alice", "private", "alice"));
  EXPECT_FALSE(may_match_foreign_personal_topic("*", "private", "alice"));  // one token: never personal
  EXPECT_FALSE(may_match_foreign_personal_topic("chat.>", "private", "alice"));
  EXPECT_FALSE(may_match_foreign_personal_topic(">", "", "alice"));  // personal topics off
}
