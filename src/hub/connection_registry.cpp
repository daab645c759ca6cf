#include "hub/connection_registry.hpp"

namespace natsync {

void ConnectionRegistry::add_locked(std::string_view user_id) {
  if (user_id.empty()) {
    ++anonymous_;
  } else {
    ++users_[std::string(user_id)];
  }
}

void ConnectionRegistry::remove_locked(std::string_view user_id) {
  if (user_id.empty()) {
    if (anonymous_ > 0) --anonymous_;
    return;
  }
  auto it = users_.find(std::string(user_id));
  if (it == users_.end()) return;
  if (--it->second == 0) users_.erase(it);
}

void ConnectionRegistry::add(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  ++connections_;
  add_locked(user_id);
}

void ConnectionRegistry::remove(std::string_view user_id) {
  std::lock_guard lock(mutex_);
  if (connections_ > 0) --connections_;
  remove_locked(user_id);
}

void ConnectionRegistry::change_user(std::string_view from, std::string_view to) {
  std::lock_guard lock(mutex_);
  remove_locked(from);
  add_locked(to);
}

std::size_t ConnectionRegistry::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::size_t ConnectionRegistry::clients() const {
  std::lock_guard lock(mutex_);
  return users_.size() + anonymous_;
}

std::size_t ConnectionRegistry::connections_of(std::string_view user_id) const {
  std::lock_guard lock(mutex_);
  auto it = users_.find(std::string(user_id));
  return it == users_.end() ? 0 : it->second;
}

}  // namespace natsync
