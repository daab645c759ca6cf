#pragma once
// Presence on the wire (docs/protocol.md, Presence): who is subscribed to a topic.
//   {"type":"join"|"leave","topic":T,"data":{"user_id":U,"client_id":C}}
//   {"type":"presence","topic":T,"id":…,"data":{"connections":N,"users":M,"members":[…]}}
//   {"type":"presence_summary","topic":T,"data":{"joins":J,"leaves":L,"connections":N,"users":M}}
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire_frame.hpp"

namespace natsync {

// One member of a topic: a connection subscribed to it.
struct PresenceMember {
  std::string client_id;  // unique in the cluster (the connect message's client_id)
  std::string user_id;
  bool operator==(const PresenceMember&) const = default;
};

// A topic's members: the counts are exact, `members` at most the asked-for number.
struct PresenceData {
  std::size_t connections = 0;
  std::size_t users = 0;  // distinct user ids
  std::vector<PresenceMember> members;
  bool truncated = false;  // members has fewer than `connections`
};

// join or leave, framed once for every subscriber of the topic.
Frame make_presence_event_frame(bool join, std::string_view topic, const PresenceMember& member);
// Instead of more than a batch's worth of joins and leaves at once (a mass reconnect).
Frame make_presence_summary_frame(std::string_view topic, std::size_t joins, std::size_t leaves,
                                  const PresenceData& now);
// The "data" object of a presence answer (also GET /api/sync/presence's body).
std::string encode_presence_data(const PresenceData& data);
// The answer to a client's presence request.
std::string encode_presence_reply(std::string_view topic, std::string_view id_json, const PresenceData& data);

}  // namespace natsync
