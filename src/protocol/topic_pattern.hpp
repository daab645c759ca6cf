#pragma once
// NATS-style topic patterns, as permissions, DURABLE_TOPICS and the other topic lists
// of the configuration write them: `*` stands for exactly one token and `>` (last only)
// for one or more.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natsync {

// One pattern, checked at construction: tokens of the topic alphabet, `*`, or a last `>`.
class TopicPattern {
 public:
  static std::optional<TopicPattern> parse(std::string_view text);
  // Every item of a list ("chat.*", "news.>"); nullopt names the bad one in `error`.
  static std::optional<std::vector<TopicPattern>> parse_list(const std::vector<std::string>& items,
                                                             std::string& error);
  bool matches(std::string_view topic) const;
  const std::string& text() const { return text_; }

 private:
  explicit TopicPattern(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace natsync
