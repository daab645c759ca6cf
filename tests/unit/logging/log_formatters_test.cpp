#include "logging/log_formatters.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <nlohmann/json.hpp>

#include "logging/log_event.hpp"

namespace natsync {
namespace {

// What a formatter writes for `payload` at `level` (one line, newline included).
std::string format_line(spdlog::formatter& formatter, std::string_view payload,
                        spdlog::level::level_enum level = spdlog::level::info) {
  spdlog::details::log_msg msg("natsync", level, spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  return std::string(out.data(), out.size());
}

std::string payload(std::string_view message, std::initializer_list<LogField> fields) {
  std::string line(message);
  for (const auto& field : fields) field.append_to(line);
  return line;
}

TEST(LogFormatters, JsonHasTimeLevelMessageAndTheFieldsWithTheirTypes) {
  JsonLogFormatter json;
  const auto line = format_line(
      json, payload("connection closed", {{"connection_id", 7}, {"user_id", "ann"}, {"code", 1000}}),
      spdlog::level::warn);
  ASSERT_EQ(line.back(), '\n');
  const auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["level"], "warn");
  EXPECT_EQ(parsed["message"], "connection closed");
  EXPECT_EQ(parsed["connection_id"], 7);
  EXPECT_EQ(parsed["user_id"], "ann");
  EXPECT_EQ(parsed["code"], 1000);
  EXPECT_TRUE(parsed["time"].get<std::string>().ends_with("Z"));
}

TEST(LogFormatters, TextAppendsTheFieldsAsKeyValue) {
  TextLogFormatter text;
  const auto line =
      format_line(text, payload("slow consumer; closing", {{"connection_id", 3}, {"code", 4008}}));
  EXPECT_NE(line.find(" info slow consumer; closing connection_id=3 code=4008\n"), std::string::npos) << line;
  EXPECT_NE(format_line(text, "plain", spdlog::level::warn).find(" warning plain\n"), std::string::npos);
}

TEST(LogFormatters, HostileBytesNeverBreakAJsonLine) {
  JsonLogFormatter json;
  const std::string hostile =
      std::string("q\"b\\s\n\t\x01\x7f") + "\xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80" + "é€😀";
  // In the message (a format argument can carry a client's bytes, separators included),
  // in a text field, and as a fake number field.
  for (const auto& text : {hostile, payload(hostile, {{"user_id", hostile}}),
                           hostile + "\x1f#code=1}{\x1f$=\x1f\x1f#x=-\x1f"
                                     "broken",
                           payload("m", {{"k\"ey", hostile}, {"n", -42}})}) {
    const auto line = format_line(json, text);
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
    EXPECT_TRUE(parsed.is_object());
  }
  const auto parsed = nlohmann::json::parse(format_line(json, payload(hostile, {{"user_id", "a\x1f b"}})));
  std::string replaced;  // each byte of an invalid sequence becomes U+FFFD
  for (int i = 0; i < 7; ++i) replaced += "\xef\xbf\xbd";
  EXPECT_EQ(parsed["message"], "q\"b\\s\n\t\x01\x7f\xef\xbf\xbd\xef\xbf\xbd(" + replaced + "é€😀");
  EXPECT_EQ(parsed["user_id"], "a  b");  // a separator inside a value is a space
  const auto fake = nlohmann::json::parse(format_line(json, "m\x1f#code=1}"));
  EXPECT_EQ(fake["code"], "1}");  // not a number: written as text
}

}  // namespace
}  // namespace natsync
