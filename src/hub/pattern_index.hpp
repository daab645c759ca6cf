#pragma once
// The pattern subscriptions of one worker: NATS-style patterns (`chat.*`, `chat.>`) ->
// subscribers, matched against a concrete topic. A trie of tokens, as nats-server's
// sublist.go: one level per token, each with its literal children, one `*` child and
// the subscribers of a `>` ending there; so a match walks at most (tokens × 2) nodes,
// whatever the number of patterns.
//
// Invariants:
// - A node exists only while some pattern passes through it: remove() prunes the
//   nodes it leaves empty, so an index whose patterns all left holds nothing.
// - A subscriber appears at most once in the list of one pattern (add is idempotent);
//   it may appear in several patterns' lists, so match() may return it more than once
//   (the caller removes repeats: LocalHub delivers once per connection).
// - Patterns are valid (TopicPattern::parse); the index does not check them.
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/string_hash.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {

class Subscriber;

class PatternIndex {
 public:
  // Returns true when `subscriber` was not yet in `pattern`'s list.
  bool add(std::string_view pattern, Subscriber* subscriber);
  // Returns true when it was, and is no longer.
  bool remove(std::string_view pattern, Subscriber* subscriber);
  // Appends the subscribers of every pattern that matches `topic` (a valid topic).
  void match(std::string_view topic, std::vector<Subscriber*>& out) const;
  // Subscriptions (pattern, subscriber) held.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  struct Level;
  struct Node {
    std::unique_ptr<Level> next;           // tokens after this one
    std::vector<Subscriber*> subscribers;  // of the patterns that end here
    bool empty() const;
  };
  struct Level {
    boost::unordered_flat_map<std::string, Node, StringHash, StringEqual> literal;
    std::unique_ptr<Node> star;     // `*`
    std::vector<Subscriber*> rest;  // `>`: one or more tokens
    bool empty() const { return literal.empty() && !star && rest.empty(); }
  };

  static void match_level(const Level& level, std::string_view topic, std::size_t pos,
                          std::vector<Subscriber*>& out);
  // Removes from the level at `pos` of `pattern`; prunes what it leaves empty.
  static bool remove_at(Level& level, std::string_view pattern, std::size_t pos, Subscriber* subscriber);

  Level root_;
  std::size_t size_ = 0;
};

}  // namespace natsync
