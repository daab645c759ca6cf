#include "presence/member_table.hpp"

#include <boost/unordered/unordered_flat_set.hpp>

namespace natsync {

bool MemberTable::join(const std::string& node, const std::string& topic, const PresenceMember& member) {
  auto& members = nodes_[node][topic];
  const bool added = members.try_emplace(member.client_id, member.user_id).second;
  size_ += added ? 1 : 0;
  return added;
}

bool MemberTable::leave(const std::string& node, const std::string& topic, const PresenceMember& member) {
  auto node_it = nodes_.find(node);
  if (node_it == nodes_.end()) return false;
  auto topic_it = node_it->second.find(topic);
  if (topic_it == node_it->second.end() || topic_it->second.erase(member.client_id) == 0) return false;
  --size_;
  if (topic_it->second.empty()) node_it->second.erase(topic_it);
  if (node_it->second.empty()) nodes_.erase(node_it);
  return true;
}

std::vector<PresenceEvent> MemberTable::replace(const std::string& node,
                                                const std::vector<PresenceEvent>& members) {
  std::vector<PresenceEvent> changes;
  // Who is in the new state, to find who is no longer.
  boost::unordered_flat_map<std::string, boost::unordered_flat_set<std::string>> wanted;
  for (const auto& entry : members) wanted[entry.topic].insert(entry.member.client_id);
  for (auto& gone : members_of(node)) {
    auto it = wanted.find(gone.topic);
    if (it != wanted.end() && it->second.contains(gone.member.client_id)) continue;
    leave(node, gone.topic, gone.member);
    gone.join = false;
    changes.push_back(std::move(gone));
  }
  for (const auto& entry : members) {
    if (join(node, entry.topic, entry.member))
      changes.push_back(PresenceEvent{true, entry.topic, entry.member});
  }
  return changes;
}

std::vector<PresenceEvent> MemberTable::drop(const std::string& node) {
  auto leaves = members_of(node);
  for (auto& event : leaves) event.join = false;
  if (auto it = nodes_.find(node); it != nodes_.end()) {
    size_ -= leaves.size();
    nodes_.erase(it);
  }
  return leaves;
}

std::vector<PresenceEvent> MemberTable::members_of(const std::string& node) const {
  std::vector<PresenceEvent> out;
  auto node_it = nodes_.find(node);
  if (node_it == nodes_.end()) return out;
  for (const auto& [topic, members] : node_it->second) {
    for (const auto& [client, user] : members)
      out.push_back(PresenceEvent{true, topic, PresenceMember{client, user}});
  }
  return out;
}

PresenceData MemberTable::data(std::string_view topic, std::size_t max_members) const {
  PresenceData out;
  boost::unordered_flat_set<std::string_view> users;
  for (const auto& [node, topics] : nodes_) {
    auto it = topics.find(topic);
    if (it == topics.end()) continue;
    for (const auto& [client, user] : it->second) {
      ++out.connections;
      users.insert(user);
      if (out.members.size() < max_members) out.members.push_back(PresenceMember{client, user});
    }
  }
  out.users = users.size();
  out.truncated = out.members.size() < out.connections;
  return out;
}

}  // namespace natsync
