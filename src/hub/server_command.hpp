#pragma once
// What the server API (POST /api/sync/subscribe, unsubscribe, disconnect; Node's
// subscribe_user, …) asks of each connection of a user, on the connection's own worker.
#include <string>

namespace natsync {

struct ServerCommand {
  enum class Kind { subscribe, unsubscribe, disconnect };
  Kind kind = Kind::subscribe;
  std::string topic;      // subscribe, unsubscribe: a topic or a pattern
  std::string reason;     // disconnect: told to the client
  bool reconnect = true;  // disconnect: whether the client may come back
};

}  // namespace natsync
