#pragma once
// What GET /metrics answers with: the Prometheus text the server makes
// (server/MetricsCollector), which sees every worker. An interface, so that the REST API
// below it stays a request -> response function.
#include <functional>
#include <string>

namespace natsync {

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Calls `done` once with the exposition text (format 0.0.4), on any thread.
  virtual void render(std::function<void(std::string)> done) const = 0;
};

}  // namespace natsync
