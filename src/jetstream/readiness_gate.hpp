#pragma once
// Work that must wait until a JetStream user (the history, the documents) is set up on
// this node: run at once when it is, else kept and run when it becomes so, or given up
// at its deadline. The check and the keeping are one step under the gate's lock, so
// nothing kept can miss open().
#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <mutex>
#include <vector>

namespace natsync {

class ReadinessGate {
 public:
  using Clock = std::chrono::steady_clock;

  bool ready() const {
    const std::lock_guard lock(mutex_);
    return ready_;
  }

  // Runs `start` now when ready; else keeps it (true: kept) until open() or, past
  // `deadline`, give_up_expired() runs `give_up` instead.
  bool run_or_keep(std::function<void()> start, std::function<void()> give_up, Clock::time_point deadline) {
    {
      const std::lock_guard lock(mutex_);
      if (!ready_) {
        waiting_.push_back(Waiting{std::move(start), std::move(give_up), deadline});
        return true;
      }
    }
    start();
    return false;
  }

  // Ready from now on; runs what was kept, in order.
  void open() {
    std::vector<Waiting> waiting;
    {
      const std::lock_guard lock(mutex_);
      ready_ = true;
      waiting.swap(waiting_);
    }
    for (auto& item : waiting) item.start();
  }

  void close() {
    const std::lock_guard lock(mutex_);
    ready_ = false;
  }

  // Gives up what waited past `now`; how many.
  std::size_t give_up_expired(Clock::time_point now) {
    std::vector<Waiting> expired;
    {
      const std::lock_guard lock(mutex_);
      auto keep = std::partition(waiting_.begin(), waiting_.end(),
                                 [now](const Waiting& item) { return item.deadline > now; });
      std::move(keep, waiting_.end(), std::back_inserter(expired));
      waiting_.erase(keep, waiting_.end());
    }
    for (auto& item : expired) item.give_up();
    return expired.size();
  }

 private:
  struct Waiting {
    std::function<void()> start;
    std::function<void()> give_up;
    Clock::time_point deadline;
  };
  mutable std::mutex mutex_;
  bool ready_ = false;
  std::vector<Waiting> waiting_;
};

}  // namespace natsync
