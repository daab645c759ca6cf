#pragma once
// Where durable topics (DURABLE_TOPICS) keep their history, seen from the rest of the
// server. Two implementations:
// - MemoryHistory (standalone): in this process, answers at once on the caller's thread;
// - JetStreamHistory (with NATS_URL): in a JetStream stream every node shares, answers
//   from another thread when JetStream replied.
// So every caller is written for the asynchronous case: `done` runs exactly once, either
// before the call returns or later on another thread (docs/history.md).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/stream_position.hpp"
#include "protocol/wire_frame.hpp"

namespace natsync {

// What a subscriber gets from the history: where it starts, and with "since" the
// messages it missed.
struct Recovery {
  bool recovered = false;     // true: `frames` are exactly the messages after `since`
  StreamPosition position;    // messages up to here are replayed or were before `since`
  std::vector<Frame> frames;  // the missed messages, oldest first; empty unless recovered
  // false: the history never answered (JetStream unreachable past the node's patience),
  // so there is no position from which live delivery can be promised: the subscribe
  // fails (broker_unavailable) instead of being acknowledged.
  bool available = true;

  static Recovery unavailable() {
    Recovery recovery;
    recovery.available = false;
    return recovery;
  }
};

// A page of stored messages (GET /api/sync/history).
struct HistoryPage {
  StreamPosition position;  // the topic's stream position now
  std::vector<Frame> frames;
};

// The result of publishing one message on a durable topic.
struct Stored {
  bool ok = false;          // false: the history is unreachable; nothing was published
  StreamPosition position;  // the message's offset and epoch
  bool duplicate = false;   // its idempotency key was seen: published before, not again
};

class History {
 public:
  using PublishDone = std::function<void(const Stored&)>;
  using RecoverDone = std::function<void(Recovery)>;
  using ReadDone = std::function<void(std::optional<HistoryPage>)>;  // nullopt: unreachable

  virtual ~History() = default;

  // Whether `topic` keeps history. Thread-safe, never blocks.
  virtual bool durable(std::string_view topic) const = 0;

  // Numbers, stores and delivers (to this node and every other) one message on a durable
  // topic; `data_json` is valid compact JSON. `exclude_connection` (a client "sync")
  // does not get it live. With an `idempotency_key` a message still remembered was
  // published with, publishes nothing and reports that message as a duplicate.
  virtual void publish(const std::string& topic, std::string_view data_json, std::uint64_t exclude_connection,
                       std::string_view idempotency_key, PublishDone done) = 0;

  // For a subscriber just added to this worker's hub (call on that worker, right after):
  // with `since`, the messages it missed after that position (recovered) or none (not);
  // without, where the stream stands. Every message after the returned position reaches
  // the subscriber live; live copies up to it must be dropped. A history that cannot
  // name such a position yet (JetStream not answering this node) answers when it can,
  // or `Recovery::unavailable()`: never a position it cannot keep.
  virtual void recover(const std::string& topic, const std::optional<StreamPosition>& since,
                       RecoverDone done) = 0;

  // Up to `limit` stored messages with offsets above `after` (0: from the oldest).
  virtual void read(const std::string& topic, std::uint64_t after, std::size_t limit, ReadDone done) = 0;

  // Messages stored now, over every topic (status); may lag a little.
  virtual std::size_t messages() const = 0;
  // Messages stored that this node has not delivered yet (JetStream: the stream's last
  // sequence at the last once-a-second check, less what the consumer delivered); 0 standalone.
  virtual std::uint64_t consumer_lag() const { return 0; }

  // Housekeeping, called about once a second from one worker (drops expired messages).
  virtual void sweep() {}
};

}  // namespace natsync
