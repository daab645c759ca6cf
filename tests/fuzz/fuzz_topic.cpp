// libFuzzer target: topic validation, pattern parsing and matching, personal topics.
// Input: "<pattern>\n<topic>".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/topic_permissions.hpp"
#include "config/config.hpp"
#include "protocol/topic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const auto pattern_text = text.substr(0, newline);
  const auto topic = newline == std::string_view::npos ? text : text.substr(newline + 1);
  (void)natsync::topic_error(topic);
  (void)natsync::topic_error(topic, 10);
  if (auto pattern = natsync::TopicPattern::parse(pattern_text)) {
    const bool matched = pattern->matches(topic);
    // A pattern without wildcards matches exactly itself.
    if (pattern_text.find_first_of("*>") == std::string_view::npos && matched != (pattern_text == topic)) {
      __builtin_trap();
    }
  }
  (void)natsync::is_foreign_personal_topic(topic, "private", pattern_text);
  std::string error;
  (void)natsync::TopicPattern::parse_list(natsync::split_list(text), error);
  return 0;
}
