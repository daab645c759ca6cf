#include "protocol/topic.hpp"

namespace natsync {
namespace {

constexpr bool is_token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
         c == '-';
}

}  // namespace

const char* topic_error(std::string_view topic, std::size_t max_length) noexcept {
  if (topic.empty()) return "topic must not be empty";
  if (topic.size() > kMaxTopicLength) return "topic is longer than 256 bytes";
  if (topic.size() > max_length) return "topic is longer than MAX_TOPIC_LENGTH";
  bool token_empty = true;
  for (const char c : topic) {
    if (c == '.') {
      if (token_empty) return "topic has an empty token (leading, trailing or double dot)";
      token_empty = true;
    } else if (is_token_char(c)) {
      token_empty = false;
    } else {
      return "topic may only contain A-Z a-z 0-9 _ : - separated by single dots";
    }
  }
  if (token_empty) return "topic has an empty token (leading, trailing or double dot)";
  return nullptr;
}

}  // namespace natsync
