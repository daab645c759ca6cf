#include "auth/topic_permissions.hpp"

#include <algorithm>

namespace natsync {

bool TopicPermissions::any_matches(const std::vector<TopicPattern>& patterns, std::string_view topic) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [topic](const TopicPattern& p) { return p.matches(topic); });
}

bool TopicPermissions::may_subscribe_pattern(std::string_view pattern) const {
  return std::any_of(subscribe.begin(), subscribe.end(),
                     [pattern](const TopicPattern& p) { return p.covers(pattern); });
}

namespace {
std::string_view next_token(std::string_view text, std::size_t& pos) {
  const auto dot = text.find('.', pos);
  const auto end = dot == std::string_view::npos ? text.size() : dot;
  const auto token = text.substr(pos, end - pos);
  pos = end + 1;
  return token;
}
}  // namespace

bool may_match_foreign_personal_topic(std::string_view pattern, std::string_view prefix,
                                      std::string_view user) {
  if (prefix.empty()) return false;
  std::size_t p = 0;
  std::size_t q = 0;
  // The prefix's tokens, then the owner's: a personal topic has at least one more token.
  while (q <= prefix.size()) {
    if (p > pattern.size()) return false;  // the pattern is shorter than any personal topic
    const auto have = next_token(pattern, p);
    const auto want = next_token(prefix, q);
    if (have == ">") return true;
    if (have != "*" && have != want) return false;
  }
  if (p > pattern.size()) return false;
  const auto owner = next_token(pattern, p);
  return owner == "*" || owner == ">" || owner != user;
}

bool is_foreign_personal_topic(std::string_view topic, std::string_view prefix, std::string_view user) {
  if (prefix.empty() || topic.size() <= prefix.size() || !topic.starts_with(prefix) ||
      topic[prefix.size()] != '.') {
    return false;
  }
  auto owner = topic.substr(prefix.size() + 1);
  owner = owner.substr(0, owner.find('.'));
  return owner != user;
}

}  // namespace natsync
