#include "config/config_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace natsync {
namespace {

std::vector<ConfigFileEntry> entries(std::string_view text) {
  auto parsed = parse_config_file(text);
  EXPECT_TRUE(std::holds_alternative<std::vector<ConfigFileEntry>>(parsed)) << std::get<std::string>(parsed);
  return std::get<std::vector<ConfigFileEntry>>(parsed);
}

std::string error(std::string_view text) {
  auto parsed = parse_config_file(text);
  EXPECT_TRUE(std::holds_alternative<std::string>(parsed));
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string();
}

TEST(ConfigFile, KeyValueLinesWithCommentsExportQuotesAndBlanks) {
  const auto got = entries(
      "# comment\n\n  PORT = 8080 \r\nexport LOG_LEVEL=debug\nA=\"quoted "
      "value\"\nB='single'\nC=\nD=a=b\nE=\"\n");
  ASSERT_EQ(got.size(), 7U);
  EXPECT_EQ(got[0].key, "PORT");
  EXPECT_EQ(got[0].value, "8080");
  EXPECT_EQ(got[0].line, 3U);
  EXPECT_EQ(got[1].key, "LOG_LEVEL");
  EXPECT_EQ(got[2].value, "quoted value");
  EXPECT_EQ(got[3].value, "single");
  EXPECT_EQ(got[4].value, "");  // an empty value is a value (PERSONAL_TOPIC_PREFIX= turns it off)
  EXPECT_EQ(got[5].value, "a=b");
  EXPECT_EQ(got[6].value, "\"");  // one quote alone is not a quoted value
  EXPECT_TRUE(entries("").empty());
  EXPECT_EQ(entries("K=v").size(), 1U);  // no final newline
}

TEST(ConfigFile, HostileInputGetsOneLineWithTheLineNumber) {
  EXPECT_EQ(error("A=1\nno equals sign\n"), "not KEY=value (line 2)");
  EXPECT_EQ(error("=value\n"), "'' is not a setting name (line 1)");
  EXPECT_EQ(error("9LIVES=1\n"), "'9LIVES' is not a setting name (line 1)");
  EXPECT_EQ(error("A B=1\n"), "'A B' is not a setting name (line 1)");
  EXPECT_EQ(error("A=\"open\n"), "a quote that is not closed (line 1)");
  EXPECT_EQ(error("A='mixed\"\n"), "a quote that is not closed (line 1)");
  EXPECT_EQ(error(std::string("A=x\0y\n", 6)), "a NUL byte (line 1)");
  EXPECT_NE(error(std::string(300, 'K') + "-x=1").find("is not a setting name"), std::string::npos);
  EXPECT_LT(error(std::string(300, '%') + "=1").size(), 120U);  // the name is cut in the message
  std::string many;
  for (int i = 0; i < 10'001; ++i) many += "# c\n";
  EXPECT_EQ(error(many), "more than 10000 lines");
  EXPECT_EQ(error("\xff\xfe=1"), "'\xff\xfe' is not a setting name (line 1)");
}

}  // namespace
}  // namespace natsync
