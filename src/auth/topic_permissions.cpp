#include "auth/topic_permissions.hpp"

#include <algorithm>

namespace natsync {

bool TopicPermissions::any_matches(const std::vector<TopicPattern>& patterns, std::string_view topic) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [topic](const TopicPattern& p) { return p.matches(topic); });
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
