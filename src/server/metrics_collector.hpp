#pragma once
// GET /metrics: every counter of docs/operations.md in the Prometheus text format 0.0.4.
//
// Nothing is counted here. The workers count on their own threads (WorkerMetrics), the
// node counts rare events (NodeMetrics), and a scrape sums them: WorkerTotals is the
// prometheus-cpp Collectable that turns the sums into MetricFamily values, and
// prometheus-cpp's TextSerializer writes them, so the format is never written by hand.
// What only a worker's thread may read (its topics, its connections' queues) is gathered
// by a task posted to each worker first; the answer comes from the last one.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/metrics_source.hpp"
#include "config/config.hpp"
#include "core/node.hpp"
#include "hub/connection_registry.hpp"

namespace natsync {

class Worker;

// What the workers hold right now, gathered on their threads.
struct WorkerGauges {
  std::uint64_t topics = 0;         // distinct topics with a subscriber on this node
  std::uint64_t subscriptions = 0;  // a connection's subscription to a topic or pattern: one each
  std::uint64_t queued_bytes = 0;   // in the connections' outbound queues
};

// The Collectable: the node's and the workers' counters summed at the moment of Collect().
class WorkerTotals : public prometheus::Collectable {
 public:
  WorkerTotals(const Config& config, const Node& node, const ConnectionRegistry& registry,
               std::vector<const Worker*> workers, WorkerGauges gauges);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Config& config_;
  const Node& node_;
  const ConnectionRegistry& registry_;
  std::vector<const Worker*> workers_;
  WorkerGauges gauges_;
};

class MetricsCollector : public MetricsSource {
 public:
  MetricsCollector(const Config& config, const Node& node, const ConnectionRegistry& registry,
                   std::vector<Worker*> workers);
  void render(std::function<void(std::string)> done) const override;

 private:
  const Config& config_;
  const Node& node_;
  const ConnectionRegistry& registry_;
  std::vector<Worker*> workers_;
};

}  // namespace natsync
