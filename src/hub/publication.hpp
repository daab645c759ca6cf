#pragma once
// One message on its way to local connections: where it goes and its encoded frame.
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/server_message.hpp"

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
};

using PublicationPtr = std::shared_ptr<const Publication>;

}  // namespace natsync
