#pragma once
// Topic names map 1:1 onto NATS subject tokens, so the multi-node broker can use
// them as subjects without escaping: 1-256 bytes of dot-separated tokens, each
// token one or more of [A-Za-z0-9_:-]. No wildcards, no empty tokens.
#include <cstddef>
#include <string_view>

namespace natsync {

inline constexpr std::size_t kMaxTopicLength = 256;

// Why a topic was refused, for the error reply; nullptr when the topic is valid.
// `max_length` (MAX_TOPIC_LENGTH) may only lower kMaxTopicLength.
const char* topic_error(std::string_view topic, std::size_t max_length = kMaxTopicLength) noexcept;

inline bool is_valid_topic(std::string_view topic) noexcept { return topic_error(topic) == nullptr; }

}  // namespace natsync
