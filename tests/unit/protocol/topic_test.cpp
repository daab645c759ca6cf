#include "protocol/topic.hpp"

#include <gtest/gtest.h>

#include <string>

using natsync::is_valid_topic;

TEST(Topic, AcceptsNatsSubjectTokens) {
  for (const char* ok : {"a", "updates", "user.notifications", "chat:room-1.msgs_2", "A.B.C", "0"}) {
    EXPECT_TRUE(is_valid_topic(ok)) << ok;
  }
  EXPECT_TRUE(is_valid_topic(std::string(256, 'x')));
}

TEST(Topic, RejectsHostileNames) {
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a b", "a*", "a.>", "a/b", "a\n", "é", "a\tb",
                          "chat.*", "a,b", "\"", "a\\b"}) {
    EXPECT_FALSE(is_valid_topic(bad)) << bad;
    EXPECT_NE(natsync::topic_error(bad), nullptr);
  }
  EXPECT_FALSE(is_valid_topic(std::string(257, 'x')));
  EXPECT_FALSE(is_valid_topic(std::string("a\0b", 3)));
}
