#pragma once
// What a connection may subscribe to and publish (sync) into: NATS-style patterns,
// where `*` stands for exactly one token and `>` (last only) for one or more. A token's
// "topics" claim sets them per user; connections without it get the configured
// defaults (DEFAULT_SUBSCRIBE_TOPICS / DEFAULT_PUBLISH_TOPICS, `>` = everything).
// Personal topics (PERSONAL_TOPIC_PREFIX.<user>[.…]) are reachable only by their user,
// whatever the patterns say.
//
// Immutable once built and shared (shared_ptr<const>) by every connection that has the
// same permissions, so the default costs a connection one pointer.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/topic_pattern.hpp"

namespace natsync {

struct TopicPermissions {
  std::vector<TopicPattern> subscribe;
  std::vector<TopicPattern> publish;

  bool may_subscribe(std::string_view topic) const { return any_matches(subscribe, topic); }
  // A pattern subscription: allowed when one subscribe pattern covers it, so that every
  // topic it can match is one the connection may read (docs/security.md).
  bool may_subscribe_pattern(std::string_view pattern) const;
  bool may_publish(std::string_view topic) const { return any_matches(publish, topic); }

 private:
  static bool any_matches(const std::vector<TopicPattern>& patterns, std::string_view topic);
};

using SharedPermissions = std::shared_ptr<const TopicPermissions>;

// Whether `topic` is someone's personal topic that `user` may not reach: it is
// `prefix.<owner>` or `prefix.<owner>.…` with owner != user. An empty prefix turns
// personal topics off.
bool is_foreign_personal_topic(std::string_view topic, std::string_view prefix, std::string_view user);
// Whether `pattern` can match a personal topic of someone other than `user`.
bool may_match_foreign_personal_topic(std::string_view pattern, std::string_view prefix,
                                      std::string_view user);

}  // namespace natsync
