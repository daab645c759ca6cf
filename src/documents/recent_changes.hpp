#pragma once
// A document's latest changes as patch frames, for catch-up (a resubscribe with
// "since"): consecutive revisions ending at last(), at most `max_count` of them and
// `max_bytes` of frames (a longer catch-up would cost more than the snapshot that
// replaces it). A value: no locking here, its owner's lock covers it.
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "protocol/wire_frame.hpp"

namespace natsync {

class RecentChanges {
 public:
  // Keeps `frame` as `revision`'s change; one that does not follow last() starts over.
  void add(std::uint64_t revision, Frame frame, std::size_t max_count, std::size_t max_bytes) {
    if (!changes_.empty() && revision != changes_.back().first + 1) clear();
    bytes_ += frame->size();
    changes_.emplace_back(revision, std::move(frame));
    while (changes_.size() > max_count || bytes_ > max_bytes) {
      bytes_ -= changes_.front().second->size();
      changes_.pop_front();
    }
  }

  // The last revision kept (0: none).
  std::uint64_t last() const { return changes_.empty() ? 0 : changes_.back().first; }

  void clear() {
    changes_.clear();
    bytes_ = 0;
  }

  // The changes after `since` through `through`, oldest first, when every one is kept
  // (none when since == through); nullopt otherwise.
  std::optional<std::vector<Frame>> after(std::uint64_t since, std::uint64_t through) const {
    if (since > through) return std::nullopt;
    if (since == through) return std::vector<Frame>{};
    if (changes_.empty() || changes_.back().first != through || changes_.front().first > since + 1)
      return std::nullopt;
    std::vector<Frame> frames;
    frames.reserve(through - since);
    for (auto it = changes_.end() - static_cast<std::ptrdiff_t>(through - since); it != changes_.end(); ++it)
      frames.push_back(it->second);
    return frames;
  }

 private:
  std::deque<std::pair<std::uint64_t, Frame>> changes_;
  std::size_t bytes_ = 0;
};

}  // namespace natsync
