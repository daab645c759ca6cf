#include "limits/connection_limiter.hpp"

#include <algorithm>

namespace natsync {
namespace {

// Takes one from `key`'s count, forgetting the key at zero.
template <class Map, class Key>
void decrement(Map& counts, const Key& key) {
  auto it = counts.find(key);
  if (it != counts.end() && --it->second == 0) counts.erase(it);
}

}  // namespace

bool ConnectionLimiter::Ticket::assign_user(std::string_view user) {
  if (!places_ || places_->limiter.limits_.per_user == 0 || user.empty() || user == places_->user)
    return true;
  auto& limiter = places_->limiter;
  std::lock_guard lock(limiter.mutex_);
  auto it = limiter.per_user_.try_emplace(std::string(user), 0).first;
  if (it->second >= limiter.limits_.per_user) return false;
  ++it->second;
  if (!places_->user.empty()) decrement(limiter.per_user_, places_->user);
  places_->user = std::string(user);
  return true;
}

std::variant<ConnectionLimiter::Ticket, ConnectionLimiter::Refusal> ConnectionLimiter::admit(
    const boost::asio::ip::address& ip, std::string_view user, TokenBucket::Clock::time_point now) {
  if (!counts() && limits_.rate_per_ip <= 0) return Ticket{};
  std::lock_guard lock(mutex_);
  if (limits_.max_connections != 0 && total_ >= limits_.max_connections) {
    return Refusal{Reason::server_full, std::chrono::seconds(1)};
  }
  if (limits_.per_ip != 0) {
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && it->second >= limits_.per_ip) return Refusal{Reason::too_many_from_ip, {}};
  }
  const bool count_user = limits_.per_user != 0 && !user.empty();
  if (count_user) {
    auto it = per_user_.find(std::string(user));
    if (it != per_user_.end() && it->second >= limits_.per_user)
      return Refusal{Reason::too_many_for_user, {}};
  }
  if (limits_.rate_per_ip > 0) {
    if (rates_.size() >= prune_rates_at_) {
      // Forget the IPs whose bucket has refilled: they would be admitted as new anyway.
      std::erase_if(rates_, [now](auto& entry) { return entry.second.full(now); });
      prune_rates_at_ = std::max<std::size_t>(1024, rates_.size() * 2);
    }
    auto [it, inserted] =
        rates_.try_emplace(ip, limits_.rate_per_ip, std::max(1.0, limits_.rate_per_ip), now);
    if (!it->second.take(now)) {
      const auto wait = std::chrono::ceil<std::chrono::seconds>(it->second.wait_time(now));
      return Refusal{Reason::rate_per_ip, std::max(wait, std::chrono::seconds(1))};
    }
  }
  Ticket ticket;
  if (!counts()) return ticket;
  ++total_;
  if (limits_.per_ip != 0) ++per_ip_[ip];
  if (count_user) ++per_user_[std::string(user)];
  ticket.places_.reset(new Ticket::Places{*this, ip, count_user ? std::string(user) : std::string()});
  return ticket;
}

void ConnectionLimiter::release(const boost::asio::ip::address& ip, const std::string& user) {
  std::lock_guard lock(mutex_);
  --total_;
  if (limits_.per_ip != 0) decrement(per_ip_, ip);
  if (!user.empty()) decrement(per_user_, user);
}

std::size_t ConnectionLimiter::connections() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace natsync
