#include "hub/local_hub.hpp"

#include <algorithm>

namespace natsync {

bool LocalHub::erase_from(Index& index, std::string_view key, Subscriber* subscriber) {
  auto it = index.find(key);
  if (it == index.end()) return false;
  auto& list = it->second;
  // Order among subscribers carries no meaning, so swap-and-pop is enough.
  if (auto pos = std::find(list.begin(), list.end(), subscriber); pos != list.end()) {
    *pos = list.back();
    list.pop_back();
  }
  if (!list.empty()) return false;
  index.erase(it);
  return true;
}

bool LocalHub::add(Subscriber& subscriber, std::string_view user_id) {
  auto [it, inserted] = entries_.try_emplace(&subscriber);
  if (!inserted || user_id.empty()) return false;
  it->second.user.assign(user_id);
  auto& list = users_[std::string(user_id)];
  list.push_back(&subscriber);
  return list.size() == 1;
}

std::vector<LocalHub::Key> LocalHub::remove(Subscriber& subscriber) {
  std::vector<Key> vanished;
  auto it = entries_.find(&subscriber);
  if (it == entries_.end()) return vanished;
  for (auto& topic : it->second.topics) {
    invalidate(topic);
    const bool pattern = is_pattern(topic);
    if (pattern) pattern_index_.remove(topic, &subscriber);
    if (erase_from(pattern ? patterns_ : topics_, topic, &subscriber))
      vanished.push_back({Channel::topic, std::move(topic)});
  }
  if (!it->second.user.empty() && erase_from(users_, it->second.user, &subscriber)) {
    vanished.push_back({Channel::user, std::move(it->second.user)});
  }
  entries_.erase(it);
  return vanished;
}

bool LocalHub::contains(Subscriber& subscriber) const { return entries_.contains(&subscriber); }

IndexChange LocalHub::subscribe(Subscriber& subscriber, std::string_view topic) {
  auto it = entries_.find(&subscriber);
  if (it == entries_.end()) return IndexChange::unchanged;
  auto& topics = it->second.topics;
  if (std::find(topics.begin(), topics.end(), topic) != topics.end()) return IndexChange::unchanged;
  topics.emplace_back(topic);
  invalidate(topic);
  const bool pattern = is_pattern(topic);
  if (pattern) pattern_index_.add(topic, &subscriber);
  auto& list = (pattern ? patterns_ : topics_)[std::string(topic)];
  list.push_back(&subscriber);
  return list.size() == 1 ? IndexChange::key_appeared : IndexChange::changed;
}

IndexChange LocalHub::unsubscribe(Subscriber& subscriber, std::string_view topic) {
  auto it = entries_.find(&subscriber);
  if (it == entries_.end()) return IndexChange::unchanged;
  auto& topics = it->second.topics;
  auto pos = std::find(topics.begin(), topics.end(), topic);
  if (pos == topics.end()) return IndexChange::unchanged;
  *pos = std::move(topics.back());
  topics.pop_back();
  invalidate(topic);
  const bool pattern = is_pattern(topic);
  if (pattern) pattern_index_.remove(topic, &subscriber);
  return erase_from(pattern ? patterns_ : topics_, topic, &subscriber) ? IndexChange::key_vanished
                                                                       : IndexChange::changed;
}

void LocalHub::invalidate(std::string_view topic) {
  if (matches_.empty()) return;
  if (is_pattern(topic)) {
    matches_.clear();
  } else if (auto it = matches_.find(topic); it != matches_.end()) {
    matches_.erase(it);
  }
}

const std::vector<Subscriber*>& LocalHub::matching(std::string_view topic) const {
  if (auto it = matches_.find(topic); it != matches_.end()) return it->second;
  constexpr std::size_t kMaxCached = 4096;
  if (matches_.size() >= kMaxCached) matches_.clear();
  std::vector<Subscriber*> list;
  if (auto it = topics_.find(topic); it != topics_.end()) list = it->second;
  const auto exact = list.size();
  pattern_index_.match(topic, list);
  if (list.size() > exact) {
    // A connection subscribed to the topic and to patterns, or to several patterns:
    // sort the (rarely long) list so that each one is in it once.
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return matches_.emplace(std::string(topic), std::move(list)).first->second;
}

std::size_t LocalHub::deliver(const Publication& publication) const {
  const auto send_all = [&publication](const std::vector<Subscriber*>& list) {
    std::size_t sent = 0;
    for (auto* subscriber : list) {
      if (subscriber->id() == publication.exclude_connection) continue;
      if (publication.offset != 0) {
        subscriber->deliver_offset(publication);
      } else {
        subscriber->deliver(publication.frame);
      }
      ++sent;
    }
    return sent;
  };
  switch (publication.target) {
    case Publication::Target::topic: {
      if (!pattern_index_.empty() && !publication.exact_only) return send_all(matching(publication.key));
      auto it = topics_.find(std::string_view(publication.key));
      return it == topics_.end() ? 0 : send_all(it->second);
    }
    case Publication::Target::user: {
      auto it = users_.find(std::string_view(publication.key));
      return it == users_.end() ? 0 : send_all(it->second);
    }
    case Publication::Target::all: {
      std::size_t sent = 0;
      for (const auto& [subscriber, entry] : entries_) {
        if (subscriber->id() == publication.exclude_connection) continue;
        subscriber->deliver(publication.frame);
        ++sent;
      }
      return sent;
    }
  }
  return 0;
}

std::vector<Subscriber*> LocalHub::connections() const {
  std::vector<Subscriber*> out;
  out.reserve(entries_.size());
  for (const auto& [subscriber, entry] : entries_) out.push_back(subscriber);
  return out;
}

std::vector<Subscriber*> LocalHub::connections_of(std::string_view user_id) const {
  auto it = users_.find(user_id);
  return it == users_.end() ? std::vector<Subscriber*>{} : it->second;
}

std::size_t LocalHub::subscription_count(Subscriber& subscriber) const {
  auto it = entries_.find(&subscriber);
  return it == entries_.end() ? 0 : it->second.topics.size();
}

std::vector<std::string> LocalHub::topics_of(Subscriber& subscriber) const {
  auto it = entries_.find(&subscriber);
  return it == entries_.end() ? std::vector<std::string>{} : it->second.topics;
}

bool LocalHub::subscribed(Subscriber& subscriber, std::string_view topic) const {
  auto it = entries_.find(&subscriber);
  return it != entries_.end() &&
         std::find(it->second.topics.begin(), it->second.topics.end(), topic) != it->second.topics.end();
}

}  // namespace natsync
