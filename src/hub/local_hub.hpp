#pragma once
// The subscription index of one worker thread: topic -> connections and
// user -> connections, for the connections that live on that thread.
//
// Invariants:
// - Only the owning worker thread calls any member. That is what makes the index
//   lock-free and lets it hold plain pointers: a connection is destroyed only on
//   its own thread, after it has called remove().
// - A connection is in `topics_[t]` exactly when `t` is in its Entry::topics, and in
//   `users_[u]` exactly when its Entry::user is u (non-empty). remove() erases both,
//   so a closed connection leaves nothing behind.
// - deliver() never mutates the index, and Subscriber::deliver must not either (see
//   subscriber.hpp), so iteration is never invalidated. (It may fill the match cache,
//   but only before it iterates.)
// - Patterns (`chat.*`, `chat.>`) are subscriptions like topics: in Entry::topics, in
//   `patterns_` (for the broker's interest) and in `pattern_index_` (for matching). A
//   publication on topic t reaches each connection once, whether it subscribed to t,
//   to patterns matching t, or both: the list for t is then the union without repeats,
//   kept in `matches_` until a subscription that could change it changes (any pattern,
//   or t itself). With no pattern on the worker, a publication pays one branch.
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hub/channel.hpp"
#include "hub/pattern_index.hpp"
#include "hub/publication.hpp"
#include "hub/string_hash.hpp"
#include "hub/subscriber.hpp"

namespace natsync {

// What a change did to the index; key_appeared/key_vanished mean this worker gained
// its first / lost its last local subscriber of the key (what the broker must hear).
enum class IndexChange { unchanged, changed, key_appeared, key_vanished };

class LocalHub {
 public:
  struct Key {
    Channel channel;
    std::string name;
    bool operator==(const Key&) const = default;
  };

  // Returns true when this is the worker's first connection of a (non-empty) user.
  bool add(Subscriber& subscriber, std::string_view user_id);
  // Returns the keys (topics, user) that have no local subscriber left.
  std::vector<Key> remove(Subscriber& subscriber);
  bool contains(Subscriber& subscriber) const;

  // `topic` is a topic or a pattern (is_pattern). unchanged: already subscribed / not
  // subscribed (both are fine: idempotent).
  IndexChange subscribe(Subscriber& subscriber, std::string_view topic);
  IndexChange unsubscribe(Subscriber& subscriber, std::string_view topic);

  // Hands the frame to every matching local connection; returns how many.
  std::size_t deliver(const Publication& publication) const;

  // A copy of the connection list, safe to walk while connections close.
  std::vector<Subscriber*> connections() const;
  std::size_t connection_count() const { return entries_.size(); }
  std::size_t topic_count() const { return topics_.size(); }
  std::size_t pattern_count() const { return patterns_.size(); }
  // Every topic and pattern with its number of local subscribers.
  template <class Fn>
  void for_each_topic(Fn&& fn) const {
    for (const auto& [topic, list] : topics_) fn(std::string_view(topic), list.size());
    for (const auto& [pattern, list] : patterns_) fn(std::string_view(pattern), list.size());
  }
  // The local connections of a user (a copy: the caller may change subscriptions).
  std::vector<Subscriber*> connections_of(std::string_view user_id) const;
  std::size_t subscription_count(Subscriber& subscriber) const;
  // Linear in the connection's subscriptions: for limit checks, not per message.
  bool subscribed(Subscriber& subscriber, std::string_view topic) const;
  // A copy of the connection's topics.
  std::vector<std::string> topics_of(Subscriber& subscriber) const;

 private:
  struct Entry {
    std::string user;
    std::vector<std::string> topics;
  };
  using Index = boost::unordered_flat_map<std::string, std::vector<Subscriber*>, StringHash, StringEqual>;

  // Returns true when the key's list became empty (and was erased).
  static bool erase_from(Index& index, std::string_view key, Subscriber* subscriber);
  // Forgets what the cache knows that a change of `topic` (or of any pattern) affects.
  void invalidate(std::string_view topic);
  // The subscribers of `topic` and of the patterns matching it, each once.
  const std::vector<Subscriber*>& matching(std::string_view topic) const;

  boost::unordered_flat_map<Subscriber*, Entry> entries_;
  Index topics_;
  Index users_;
  Index patterns_;
  PatternIndex pattern_index_;
  // Topic -> matching(topic), for topics published to while some pattern exists. Bounded:
  // cleared when full (a burst over many topics then costs trie walks, not memory).
  mutable Index matches_;
};

}  // namespace natsync
