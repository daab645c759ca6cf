#include "hub/hub.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <memory>

namespace natsync {

void Hub::dispatch(const PublicationPtr& publication) const {
  for (const auto& shard : shards_) {
    boost::asio::post(shard.executor, [local = shard.local, metrics = shard.metrics, publication] {
      const auto delivered = local->deliver(*publication);
      if (metrics != nullptr && delivered > 0) {
        metrics->deliveries.add(delivered);
        // The worker's next write round times the oldest publication it carries.
        if (metrics->sample_from == std::chrono::steady_clock::time_point{})
          metrics->sample_from = publication->made_at;
      }
    });
  }
}

void Hub::command_user(const std::string& user_id, const ServerCommand& command) const {
  for (const auto& shard : shards_) {
    boost::asio::post(shard.executor, [local = shard.local, user_id, command] {
      // A copy of the list: a command may change the index (a subscribe, a close).
      for (auto* subscriber : local->connections_of(user_id)) subscriber->on_server_command(command);
    });
  }
}

void Hub::visit_shards(std::function<void(const LocalHub&)> visit, std::function<void()> done) const {
  if (shards_.empty()) {
    done();
    return;
  }
  struct Visit {
    Visit(std::function<void(const LocalHub&)> v, std::function<void()> d, std::size_t n)
        : visit(std::move(v)), done(std::move(d)), left(n) {}
    std::function<void(const LocalHub&)> visit;
    std::function<void()> done;
    std::atomic<std::size_t> left;
  };
  auto state = std::make_shared<Visit>(std::move(visit), std::move(done), shards_.size());
  for (const auto& shard : shards_) {
    boost::asio::post(shard.executor, [local = shard.local, state] {
      state->visit(*local);
      if (state->left.fetch_sub(1) == 1) state->done();
    });
  }
}

}  // namespace natsync
