#pragma once
// NATS-style topic patterns, as permissions, DURABLE_TOPICS and the other topic lists
// of the configuration write them: `*` stands for exactly one token and `>` (last only)
// for one or more.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/topic.hpp"

namespace natsync {

// Whether `text` is a pattern rather than a topic (it has a `*` or `>`). Topics cannot
// contain either character, so one scan decides.
inline bool is_pattern(std::string_view text) noexcept {
  return text.find_first_of("*>") != std::string_view::npos;
}

// Why `text` is not a pattern a client may subscribe to, for the error reply; nullptr
// when it is one. The same rules as TopicPattern::parse, with a reason per failure.
const char* pattern_error(std::string_view text, std::size_t max_length = kMaxTopicLength) noexcept;

// One pattern, checked at construction: tokens of the topic alphabet, `*`, or a last `>`.
class TopicPattern {
 public:
  static std::optional<TopicPattern> parse(std::string_view text);
  // Every item of a list ("chat.*", "news.>"); nullopt names the bad one in `error`.
  static std::optional<std::vector<TopicPattern>> parse_list(const std::vector<std::string>& items,
                                                             std::string& error);
  bool matches(std::string_view topic) const;
  // Whether every topic `pattern` (a valid pattern or topic) matches is matched by this
  // one: `chat.>` covers `chat.*.x`, `chat.*` does not cover `chat.>`.
  bool covers(std::string_view pattern) const;
  const std::string& text() const { return text_; }

 private:
  explicit TopicPattern(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace natsync
