#include "hub/local_hub.hpp"

#include <algorithm>
#include <boost/container_hash/hash.hpp>

namespace natsync {

std::size_t LocalHub::StringHash::operator()(std::string_view s) const noexcept {
  return boost::hash_range(s.begin(), s.end());
}

void LocalHub::erase_from(Index& index, std::string_view key, Subscriber* subscriber) {
  auto it = index.find(key);
  if (it == index.end()) return;
  auto& list = it->second;
  // Order among subscribers carries no meaning, so swap-and-pop is enough.
  if (auto pos = std::find(list.begin(), list.end(), subscriber); pos != list.end()) {
    *pos = list.back();
    list.pop_back();
  }
  if (list.empty()) index.erase(it);
}

void LocalHub::add(Subscriber& subscriber, std::string_view user_id) {
  auto [it, inserted] = entries_.try_emplace(&subscriber);
  if (!inserted) return;
  it->second.user.assign(user_id);
  if (!user_id.empty()) users_[std::string(user_id)].push_back(&subscriber);
}

void LocalHub::remove(Subscriber& subscriber) {
  auto it = entries_.find(&subscriber);
  if (it == entries_.end()) return;
  for (const auto& topic : it->second.topics) erase_from(topics_, topic, &subscriber);
  if (!it->second.user.empty()) erase_from(users_, it->second.user, &subscriber);
  entries_.erase(it);
}

bool LocalHub::contains(Subscriber& subscriber) const { return entries_.contains(&subscriber); }

bool LocalHub::subscribe(Subscriber& subscriber, std::string_view topic) {
  auto it = entries_.find(&subscriber);
  if (it == entries_.end()) return false;
  auto& topics = it->second.topics;
  if (std::find(topics.begin(), topics.end(), topic) != topics.end()) return false;
  topics.emplace_back(topic);
  topics_[std::string(topic)].push_back(&subscriber);
  return true;
}

bool LocalHub::unsubscribe(Subscriber& subscriber, std::string_view topic) {
  auto it = entries_.find(&subscriber);
  if (it == entries_.end()) return false;
  auto& topics = it->second.topics;
  auto pos = std::find(topics.begin(), topics.end(), topic);
  if (pos == topics.end()) return false;
  *pos = std::move(topics.back());
  topics.pop_back();
  erase_from(topics_, topic, &subscriber);
  return true;
}

std::size_t LocalHub::deliver(const Publication& publication) const {
  const auto send_all = [&publication](const std::vector<Subscriber*>& list) {
    std::size_t sent = 0;
    for (auto* subscriber : list) {
      if (subscriber->id() == publication.exclude_connection) continue;
      subscriber->deliver(publication.frame);
      ++sent;
    }
    return sent;
  };
  switch (publication.target) {
    case Publication::Target::topic: {
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

std::size_t LocalHub::subscription_count(Subscriber& subscriber) const {
  auto it = entries_.find(&subscriber);
  return it == entries_.end() ? 0 : it->second.topics.size();
}

}  // namespace natsync
