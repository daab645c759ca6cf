#pragma once
// Who is subscribed to each presence topic, by node: this node's members, and in a
// cluster a copy of every other node's, kept up to date by their events (presence.hpp).
// A plain value: Presence guards it with its mutex.
//
// Invariants:
// - A member (client id) is at most once in one topic of one node; join and leave are
//   idempotent and say whether they changed anything, so a repeated event (a full state
//   that overlaps the events before it) makes no second join or leave.
// - No empty topic or node is kept: the last leave erases them.
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hub/string_hash.hpp"
#include "protocol/presence_messages.hpp"

namespace natsync {

struct PresenceEvent {
  bool join = true;
  std::string topic;
  PresenceMember member;
};

class MemberTable {
 public:
  bool join(const std::string& node, const std::string& topic, const PresenceMember& member);
  bool leave(const std::string& node, const std::string& topic, const PresenceMember& member);
  // Makes `members` (topic, member) all that `node` has; returns the joins and leaves
  // that this changed.
  std::vector<PresenceEvent> replace(const std::string& node, const std::vector<PresenceEvent>& members);
  // Every member of `node` leaves; returns those leaves.
  std::vector<PresenceEvent> drop(const std::string& node);
  // What `node` has, as joins (its full state).
  std::vector<PresenceEvent> members_of(const std::string& node) const;
  // The topic's members on every node: the counts exact, at most `max_members` listed.
  PresenceData data(std::string_view topic, std::size_t max_members) const;
  std::size_t size() const { return size_; }

 private:
  using Members =
      boost::unordered_flat_map<std::string, std::string, StringHash, StringEqual>;  // client -> user
  using Topics = boost::unordered_flat_map<std::string, Members, StringHash, StringEqual>;
  boost::unordered_flat_map<std::string, Topics, StringHash, StringEqual> nodes_;
  std::size_t size_ = 0;
};

}  // namespace natsync
