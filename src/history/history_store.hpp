#pragma once
// Bounded per-topic history for durable topics (DURABLE_TOPICS), in memory: what lets
// a client that was away resubscribe "since" the last offset it saw and get exactly
// what it missed (docs/history.md).
//
// Every message on a durable topic gets the next offset of its topic (1, 2, …) and the
// topic's epoch, an id made when the topic's history is created: a client holding
// offsets of another epoch (the history was lost: restart, expiry) cannot recover and
// is told so. Each topic keeps its last HISTORY_SIZE messages, none older than
// HISTORY_TTL; a topic with nothing left is forgotten (and gets a new epoch when it is
// published to again).
//
// The message's frame is stored, not its data: the bytes a subscriber got live are the
// bytes a recovering one gets replayed. Topics are sharded over mutexes, and a
// publication holds its topic's shard while it is numbered, stored and handed on, so
// the order of offsets is the order in which every worker receives them.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "history/history.hpp"
#include "protocol/stream_position.hpp"
#include "protocol/topic_pattern.hpp"
#include "protocol/wire_frame.hpp"

namespace natsync {

struct HistorySettings {
  std::vector<TopicPattern> durable_topics;   // empty: no topic keeps history
  std::size_t size = 0;                       // messages kept per topic
  std::chrono::steady_clock::duration ttl{};  // and for at most this long
};

// Whether `topic` keeps history under `settings`.
bool is_durable(const HistorySettings& settings, std::string_view topic);

class HistoryStore {
 public:
  using Clock = std::chrono::steady_clock;

  explicit HistoryStore(HistorySettings settings);

  // Whether `topic` keeps history.
  bool durable(std::string_view topic) const;

  struct Appended {
    StreamPosition position;
    bool duplicate = false;  // the idempotency key was seen: nothing was appended
  };

  // Numbers the next message of `topic`, makes its frame with `make` (which gets the
  // message's position), stores it, and hands it to `publish` while still holding the
  // topic's lock, so messages reach `publish` in offset order. With an
  // `idempotency_key` that a message still in the history was published with, does
  // nothing and returns that message's position as a duplicate.
  Appended append(std::string_view topic, Clock::time_point now,
                  const std::function<Frame(const StreamPosition&)>& make,
                  const std::function<void(const Frame&, const StreamPosition&)>& publish,
                  std::string_view idempotency_key = {});

  // Everything after `since` when the history still holds all of it, in the same epoch.
  // since.offset 0 (the client has seen nothing) asks for everything from offset 1,
  // whatever the epoch.
  Recovery recover(std::string_view topic, const StreamPosition& since, Clock::time_point now);

  // Where `topic` stands; offset 0 and no epoch while it keeps nothing.
  StreamPosition position(std::string_view topic, Clock::time_point now);

  // Up to `limit` stored messages with offsets above `after` (0: from the oldest).
  HistoryPage read(std::string_view topic, std::uint64_t after, std::size_t limit, Clock::time_point now);

  // Drops expired messages and forgets empty topics. Returns how many topics are left.
  std::size_t expire(Clock::time_point now);

  // Messages stored now, over every topic (status).
  std::size_t messages() const;

 private:
  struct Entry {
    std::uint64_t offset;
    Clock::time_point time;
    Frame frame;
    std::string idempotency_key;  // empty: published without one
  };
  struct TopicHistory {
    std::string epoch;
    std::uint64_t last_offset = 0;
    Clock::time_point last_publish{};
    std::deque<Entry> entries;  // oldest first, offsets consecutive
    // The idempotency keys of `entries` (a key is remembered while its message is kept).
    std::unordered_map<std::string, std::uint64_t> offsets_by_key;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, TopicHistory> topics;
  };

  Shard& shard_for(std::string_view topic);
  // The topic's history with expired entries dropped, or null if it has none.
  TopicHistory* find(Shard& shard, std::string_view topic, Clock::time_point now);
  void trim(TopicHistory& history, Clock::time_point now) const;
  std::string new_epoch();

  static constexpr std::size_t kShards = 64;

  HistorySettings settings_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex epoch_mutex_;
  std::uint64_t epoch_seed_;
  std::uint64_t epoch_counter_ = 0;
};

}  // namespace natsync
