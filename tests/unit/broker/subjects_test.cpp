#include "broker/subjects.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using natsync::SubjectMap;

TEST(SubjectMap, TopicsUsersAndBroadcastHaveTheirOwnSubjects) {
  SubjectMap map("natsync");
  EXPECT_EQ(map.topic("user.notifications"), "natsync.t.user.notifications");
  EXPECT_EQ(map.user("alice"), "natsync.u.alice");
  EXPECT_EQ(map.all(), "natsync.all");
  EXPECT_EQ(map.nodes(), "natsync.nodes");
  EXPECT_EQ(SubjectMap("app.prod").topic("a"), "app.prod.t.a");
}

TEST(SubjectMap, UserIdsAreEncodedReversiblyIntoOneToken) {
  const std::vector<std::string> users = {"alice",
                                          "user_42",
                                          "a:b-c",
                                          "alice@example.com",
                                          "a.b",
                                          "*",
                                          ">",
                                          "with space",
                                          "caf\xc3\xa9",
                                          "~tilde",
                                          std::string("nul\0byte", 8),
                                          std::string(256, 'x')};
  for (const auto& user : users) {
    const auto token = SubjectMap::encode_user(user);
    EXPECT_EQ(token.find_first_of(". *>\t\r\n"), std::string::npos) << token;
    EXPECT_EQ(SubjectMap::decode_user(token), user) << token;
  }
  EXPECT_EQ(SubjectMap::encode_user("alice@example.com"), "~616c696365406578616d706c652e636f6d");
  EXPECT_EQ(SubjectMap::encode_user("~x"), "~7e78");  // a plain id never starts with '~'
}

TEST(SubjectMap, HostileTokensDoNotDecode) {
  for (const char* token : {"", "~", "~6", "~zz", "~6G", "a.b", "a b", "*"}) {
    EXPECT_FALSE(SubjectMap::decode_user(token).has_value()) << token;
  }
}

TEST(SubjectMap, PrefixRules) {
  EXPECT_TRUE(SubjectMap::valid_prefix("natsync"));
  EXPECT_TRUE(SubjectMap::valid_prefix("a.b-c:d_e"));
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a.*", ">", "a b"}) {
    EXPECT_FALSE(SubjectMap::valid_prefix(bad)) << bad;
  }
}
