#pragma once
// The two kinds of key a connection can be reached by: a topic it subscribed to, or
// its user id. (Broadcasts need no key.)
namespace natsync {

enum class Channel { topic, user };

}  // namespace natsync
