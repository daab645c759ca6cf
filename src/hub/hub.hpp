#pragma once
// Fans a publication out to every worker thread. Each worker then delivers it to
// its own connections through its LocalHub (see local_hub.hpp), so the publishing
// thread never touches another thread's index and never takes a lock per message.
//
// Ordering: asio::post is FIFO per io_context, so publications from one thread
// reach each worker, and therefore each connection, in the order they were made.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>
#include <vector>

#include "hub/local_hub.hpp"
#include "hub/publication.hpp"
#include "metrics/counters.hpp"

namespace natsync {

class Hub {
 public:
  struct Shard {
    boost::asio::io_context::executor_type executor;
    LocalHub* local;
    WorkerMetrics* metrics = nullptr;  // where the worker counts its deliveries (null: not counted)
  };

  // Shards are added while the server is assembled, before any dispatch.
  void add_shard(const Shard& shard) { shards_.push_back(shard); }

  // Thread-safe; returns at once. Delivery happens on each worker's thread.
  void dispatch(const PublicationPtr& publication) const;

  // Runs `command` on every local connection of `user_id`, each on its own worker.
  void command_user(const std::string& user_id, const ServerCommand& command) const;

  // Calls `visit` with each worker's index, on that worker's thread (so several at once:
  // `visit` synchronises what it gathers), then `done` once, on the last one's thread.
  void visit_shards(std::function<void(const LocalHub&)> visit, std::function<void()> done) const;

  std::size_t shard_count() const { return shards_.size(); }

 private:
  std::vector<Shard> shards_;
};

}  // namespace natsync
