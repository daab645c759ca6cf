#pragma once
// Where a durable topic's stream stands: a message's offset (monotonic per topic,
// from 1) and the epoch of the history it belongs to. Offsets of different epochs are
// not comparable: the history they counted was lost (docs/history.md).
#include <cstdint>
#include <string>

namespace natsync {

struct StreamPosition {
  std::uint64_t offset = 0;  // 0: no message yet
  std::string epoch;         // empty: the topic keeps nothing yet
};

// The longest epoch a client may send back (the server makes 12 characters).
inline constexpr std::size_t kMaxEpochLength = 64;

}  // namespace natsync
