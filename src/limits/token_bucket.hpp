#pragma once
// A token bucket: `rate` tokens a second, at most `burst` saved up. A small value type
// (24 bytes) so every connection can hold its own without a lock: it is only ever used
// by the thread that owns it.
#include <algorithm>
#include <chrono>

namespace natsync {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` 0 turns the bucket off: take() always succeeds.
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(static_cast<float>(rate)), burst_(static_cast<float>(burst)), tokens_(burst_), last_(now) {}

  // Takes one token if there is one.
  bool take(Clock::time_point now) {
    if (rate_ <= 0) return true;
    refill(now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  // How long until a token is available (zero when one is).
  Clock::duration wait_time(Clock::time_point now) {
    if (rate_ <= 0) return Clock::duration::zero();
    refill(now);
    if (tokens_ >= 1) return Clock::duration::zero();
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>((1 - tokens_) / rate_));
  }

  // Whether the bucket is full (it would forget nothing by being dropped).
  bool full(Clock::time_point now) const {
    const auto elapsed = now > last_ ? std::chrono::duration<float>(now - last_).count() : 0.0F;
    return tokens_ + elapsed * rate_ >= burst_;
  }

 private:
  void refill(Clock::time_point now) {
    if (now <= last_) return;
    const auto elapsed = std::chrono::duration<float>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }

  float rate_;
  float burst_;
  float tokens_;
  Clock::time_point last_;
};

}  // namespace natsync
