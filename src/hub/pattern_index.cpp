#include "hub/pattern_index.hpp"

#include <algorithm>

namespace natsync {
namespace {

// The token of `text` at `pos` and where the next one starts (text.size() + 1 at the end).
std::string_view token_at(std::string_view text, std::size_t pos, std::size_t& next) {
  const auto dot = text.find('.', pos);
  const auto end = dot == std::string_view::npos ? text.size() : dot;
  next = end + 1;
  return text.substr(pos, end - pos);
}

bool add_to(std::vector<Subscriber*>& list, Subscriber* subscriber) {
  if (std::find(list.begin(), list.end(), subscriber) != list.end()) return false;
  list.push_back(subscriber);
  return true;
}

bool erase_from(std::vector<Subscriber*>& list, Subscriber* subscriber) {
  auto it = std::find(list.begin(), list.end(), subscriber);
  if (it == list.end()) return false;
  *it = list.back();
  list.pop_back();
  return true;
}

}  // namespace

bool PatternIndex::Node::empty() const { return subscribers.empty() && (!next || next->empty()); }

bool PatternIndex::add(std::string_view pattern, Subscriber* subscriber) {
  Level* level = &root_;
  std::size_t pos = 0;
  while (true) {
    std::size_t next = 0;
    const auto token = token_at(pattern, pos, next);
    if (token == ">") {
      const bool added = add_to(level->rest, subscriber);
      size_ += added ? 1 : 0;
      return added;
    }
    Node* node = nullptr;
    if (token == "*") {
      if (!level->star) level->star = std::make_unique<Node>();
      node = level->star.get();
    } else {
      node = &level->literal[std::string(token)];
    }
    if (next > pattern.size()) {
      const bool added = add_to(node->subscribers, subscriber);
      size_ += added ? 1 : 0;
      return added;
    }
    if (!node->next) node->next = std::make_unique<Level>();
    level = node->next.get();
    pos = next;
  }
}

bool PatternIndex::remove(std::string_view pattern, Subscriber* subscriber) {
  const bool removed = remove_at(root_, pattern, 0, subscriber);
  size_ -= removed ? 1 : 0;
  return removed;
}

bool PatternIndex::remove_at(Level& level, std::string_view pattern, std::size_t pos,
                             Subscriber* subscriber) {
  std::size_t next = 0;
  const auto token = token_at(pattern, pos, next);
  if (token == ">") return erase_from(level.rest, subscriber);
  const bool last = next > pattern.size();
  const auto remove_in = [&](Node& node) {
    if (last) return erase_from(node.subscribers, subscriber);
    if (!node.next) return false;
    const bool removed = remove_at(*node.next, pattern, next, subscriber);
    if (node.next->empty()) node.next.reset();
    return removed;
  };
  if (token == "*") {
    if (!level.star) return false;
    const bool removed = remove_in(*level.star);
    if (level.star->empty()) level.star.reset();
    return removed;
  }
  auto it = level.literal.find(token);
  if (it == level.literal.end()) return false;
  const bool removed = remove_in(it->second);
  if (it->second.empty()) level.literal.erase(it);
  return removed;
}

void PatternIndex::match(std::string_view topic, std::vector<Subscriber*>& out) const {
  if (size_ != 0) match_level(root_, topic, 0, out);
}

void PatternIndex::match_level(const Level& level, std::string_view topic, std::size_t pos,
                               std::vector<Subscriber*>& out) {
  // `>` here matches the token at `pos` and everything after it.
  out.insert(out.end(), level.rest.begin(), level.rest.end());
  std::size_t next = 0;
  const auto token = token_at(topic, pos, next);
  const bool last = next > topic.size();
  const auto visit = [&](const Node& node) {
    if (last) {
      out.insert(out.end(), node.subscribers.begin(), node.subscribers.end());
    } else if (node.next) {
      match_level(*node.next, topic, next, out);
    }
  };
  if (auto it = level.literal.find(token); it != level.literal.end()) visit(it->second);
  if (level.star) visit(*level.star);
}

}  // namespace natsync
