#pragma once
// What every Documents implementation is configured with.
#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "protocol/topic_pattern.hpp"

namespace natsync {

struct DocumentSettings {
  std::vector<TopicPattern> topics;    // DOCUMENT_TOPICS
  std::size_t max_bytes = 256 * 1024;  // DOCUMENT_MAX_BYTES
  std::size_t changes_kept = 1000;     // HISTORY_SIZE: changes kept per document for catch-up
};

inline bool is_document(const DocumentSettings& settings, std::string_view topic) {
  return std::any_of(settings.topics.begin(), settings.topics.end(),
                     [topic](const TopicPattern& pattern) { return pattern.matches(topic); });
}

}  // namespace natsync
