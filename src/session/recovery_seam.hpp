#pragma once
// Where a durable topic's replay meets its live messages, for one connection.
//
// From the subscribe until the history answers, the topic's live messages are held:
// the replay goes first. The answer is a position (epoch, offset): every message up to
// it was in the replay (or before the client's `since`), so a live copy of one of them,
// held or still in flight, is a repeat and is dropped; the first message after it ends
// the seam, and the topic is plain live from then on. A position with offset 0 (nothing
// stored) ends it at once. An idle connection pays one null pointer for this.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/publication.hpp"
#include "protocol/stream_position.hpp"

namespace natsync {

class RecoverySeam {
 public:
  enum class Live {
    deliver,  // not (or no longer) at a seam: deliver it
    held,     // the history has not answered yet: kept until finish()
    repeat,   // the replay had it: drop it
  };

  // A subscribe to `topic` is being answered: live messages are held from now on
  // (whatever was known of the topic before is forgotten).
  void begin(const std::string& topic);
  // Whether `topic`'s subscribe is still waiting for the history.
  bool recovering(std::string_view topic) const;
  // A live message of a durable topic (publication.offset != 0).
  Live admit(const Publication& publication);
  // The bytes held for `topic` (they count against the connection's queue bound).
  std::size_t held_bytes(std::string_view topic) const;
  // The history answered `position` for `topic`: the held messages that come after it,
  // in order, to deliver right after the replay.
  std::vector<Frame> finish(std::string_view topic, const StreamPosition& position);
  // Unsubscribed (or refused): nothing of `topic` is held or filtered any more.
  void forget(std::string_view topic);
  bool empty() const { return floors_ == nullptr; }

 private:
  struct Held {
    std::uint64_t offset = 0;
    std::string epoch{};
    Frame frame{};
  };
  struct Floor {
    std::string topic;
    StreamPosition position{};
    bool recovering = false;
    std::vector<Held> held{};
    std::size_t held_bytes = 0;
  };
  Floor* find(std::string_view topic);
  const Floor* find(std::string_view topic) const;
  void erase(const Floor* floor);

  std::unique_ptr<std::vector<Floor>> floors_;  // null while no topic is at a seam
};

}  // namespace natsync
