#pragma once
// Node-wide connection counts for GET /api/sync/status: open sockets and distinct
// users. Touched on connect, authenticate and close only (never per message), so
// one mutex is enough.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace natsync {

class ConnectionRegistry {
 public:
  std::uint64_t next_connection_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // An empty user id is an anonymous connection: it counts as a client of its own.
  void add(std::string_view user_id);
  void remove(std::string_view user_id);
  void change_user(std::string_view from, std::string_view to);

  std::size_t connections() const;
  // Distinct users, each anonymous connection counted as one.
  std::size_t clients() const;
  std::size_t connections_of(std::string_view user_id) const;

 private:
  void add_locked(std::string_view user_id);
  void remove_locked(std::string_view user_id);

  std::atomic<std::uint64_t> next_id_{1};
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> users_;
  std::size_t anonymous_ = 0;
  std::size_t connections_ = 0;
};

}  // namespace natsync
