#pragma once
// One message on its way to local connections: where it goes and its encoded frame.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/server_message.hpp"
#include "protocol/stream_position.hpp"

namespace natsync {

struct Publication {
  enum class Target { topic, user, all };

  Target target = Target::all;
  std::string key;  // the topic or the user id; empty for Target::all
  Frame frame;      // encoded once, shared by every recipient
  // A connection that must not receive it: the sender of a client "sync". 0 = none.
  std::uint64_t exclude_connection = 0;
  // On a durable topic, the message's offset in its topic's history (0 = not durable):
  // a subscriber that was just replayed that far drops it (Subscriber::deliver_offset).
  std::uint64_t offset = 0;
  std::string epoch{};  // of that history
  // Only for the topic's own subscribers, not for patterns matching it: a document's
  // changes (which need its snapshot first) and presence events.
  bool exact_only = false;
  // When it was made: natsync_publish_to_write_seconds measures from here.
  std::chrono::steady_clock::time_point made_at{};
};

using PublicationPtr = std::shared_ptr<const Publication>;

// The one way a publication is made (the node's own, a durable topic's stored message,
// one from another node). `at`: where a durable topic's message stands in its history
// (null for a message that is not stored).
inline PublicationPtr make_publication(Publication::Target target, std::string key, Frame frame,
                                       std::uint64_t exclude_connection = 0,
                                       const StreamPosition* at = nullptr, bool exact_only = false) {
  auto publication = std::make_shared<Publication>();
  publication->target = target;
  publication->key = std::move(key);
  publication->frame = std::move(frame);
  publication->exclude_connection = exclude_connection;
  publication->exact_only = exact_only;
  publication->made_at = std::chrono::steady_clock::now();
  if (at != nullptr) {
    publication->offset = at->offset;
    publication->epoch = at->epoch;
  }
  return publication;
}

}  // namespace natsync
