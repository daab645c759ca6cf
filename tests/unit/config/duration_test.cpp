#include "config/duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using natsync::format_duration;
using natsync::parse_duration;

TEST(Duration, ParsesGoUnits) {
  EXPECT_EQ(parse_duration("54s"), 54s);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("1h30m"), 90min);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("7ns"), 7ns);
  EXPECT_EQ(parse_duration("0"), 0ns);
  EXPECT_EQ(parse_duration(".5s"), 500ms);
}

TEST(Duration, RejectsHostileInput) {
  for (const char* bad : {"", "s", "5", "5x", "-5s", "5 s", "1.s.", "..1s", "5s5", "1e3s", "ms",
                          "99999999999999999999s", "9223372036854775807h", "5s\n", "\xff\xfes"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsRoundValues) {
  EXPECT_EQ(format_duration(54s), "54s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(0s), "0s");
}
