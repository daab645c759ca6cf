#pragma once
// Admission of WebSocket connections, node-wide: how many in all, per source IP and
// per user, and how fast new ones may come from one IP. Asked on every upgrade (and
// when a connection authenticates after it), told when a connection closes: never
// per message, so one mutex is enough.
//
// Each admitted connection holds a Ticket; destroying the ticket gives its places back,
// so a connection cannot leak a count whichever way it ends.
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "limits/token_bucket.hpp"

namespace natsync {

struct ConnectionLimits {
  std::size_t max_connections = 0;  // per node; 0 = no limit (the open-files limit applies)
  std::size_t per_ip = 0;           // 0 = no limit
  std::size_t per_user = 0;         // 0 = no limit
  double rate_per_ip = 0;           // new connections a second from one IP (a burst of as many); 0 = off
};

class ConnectionLimiter {
 public:
  enum class Reason { server_full, too_many_from_ip, too_many_for_user, rate_per_ip };

  struct Refusal {
    Reason reason;
    std::chrono::seconds retry_after{0};  // worth saying for server_full and rate_per_ip
  };

  // A connection's places. Empty (one null pointer) when no limit counts connections,
  // so that case costs a connection 8 bytes.
  class Ticket {
   public:
    // The connection proved to be `user` after it was admitted (the auth message).
    // False, and nothing changes, when that user has no place left.
    bool assign_user(std::string_view user);

   private:
    friend class ConnectionLimiter;
    struct Places {
      ConnectionLimiter& limiter;
      boost::asio::ip::address ip;
      std::string user;  // counted against per_user; empty = not counted
      ~Places() { limiter.release(ip, user); }
    };
    std::unique_ptr<Places> places_;
  };

  explicit ConnectionLimiter(ConnectionLimits limits) : limits_(limits) {}
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // `user` empty: anonymous, or not known until an auth message.
  std::variant<Ticket, Refusal> admit(const boost::asio::ip::address& ip, std::string_view user,
                                      TokenBucket::Clock::time_point now);

  std::size_t connections() const;

 private:
  bool counts() const { return limits_.max_connections != 0 || limits_.per_ip != 0 || limits_.per_user != 0; }
  void release(const boost::asio::ip::address& ip, const std::string& user);

  const ConnectionLimits limits_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::unordered_map<boost::asio::ip::address, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> per_user_;
  std::unordered_map<boost::asio::ip::address, TokenBucket> rates_;
  std::size_t prune_rates_at_ = 1024;  // rates_ size at which full buckets are dropped
};

constexpr std::string_view to_string(ConnectionLimiter::Reason reason) noexcept {
  switch (reason) {
    case ConnectionLimiter::Reason::server_full: return "server_full";
    case ConnectionLimiter::Reason::too_many_from_ip:
    case ConnectionLimiter::Reason::too_many_for_user: return "too_many_connections";
    case ConnectionLimiter::Reason::rate_per_ip: return "connection_rate_exceeded";
  }
  return "server_full";
}

}  // namespace natsync
