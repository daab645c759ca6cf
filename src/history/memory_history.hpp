#pragma once
// The standalone history (no NATS): HistoryStore in this process, whose messages go
// through the broker while their topic's lock is held, so offsets reach every worker
// in order. Every call answers at once, on the caller's thread.
#include <chrono>

#include "broker/broker.hpp"
#include "history/history.hpp"
#include "history/history_store.hpp"

namespace natsync {

class MemoryHistory final : public History {
 public:
  MemoryHistory(HistorySettings settings, Broker& broker) : store_(std::move(settings)), broker_(broker) {}

  bool durable(std::string_view topic) const override { return store_.durable(topic); }
  void publish(const std::string& topic, std::string_view data_json, std::uint64_t exclude_connection,
               std::string_view idempotency_key, PublishDone done) override;
  void recover(const std::string& topic, const std::optional<StreamPosition>& since,
               RecoverDone done) override;
  void read(const std::string& topic, std::uint64_t after, std::size_t limit, ReadDone done) override;
  std::size_t messages() const override { return store_.messages(); }

  void sweep() override { store_.expire(std::chrono::steady_clock::now()); }

 private:
  HistoryStore store_;
  Broker& broker_;
};

}  // namespace natsync
