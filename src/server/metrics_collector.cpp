#include "server/metrics_collector.hpp"

#include <prometheus/text_serializer.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <limits>
#include <memory>
#include <mutex>

#include "config/version.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily out;
  out.name = std::move(name);
  out.help = std::move(help);
  out.type = type;
  return out;
}

ClientMetric value(MetricType type, double number, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (type == MetricType::Counter) {
    metric.counter.value = number;
  } else {
    metric.gauge.value = number;
  }
  return metric;
}

// One metric without labels.
MetricFamily single(std::string name, std::string help, MetricType type, double number) {
  auto out = family(std::move(name), std::move(help), type);
  out.metric.push_back(value(type, number));
  return out;
}

// A node-wide counter family with one label: counters[i] is the one named names[i].
template <std::size_t N>
MetricFamily by_label(std::string name, std::string help, const std::string& label,
                      const std::array<SharedCounter, N>& counters, const std::array<const char*, N>& names) {
  auto out = family(std::move(name), std::move(help), MetricType::Counter);
  for (std::size_t i = 0; i < N; ++i)
    out.metric.push_back(
        value(MetricType::Counter, static_cast<double>(counters[i].value()), {{label, names[i]}}));
  return out;
}

// The client messages natsync_messages_received_total is kept for: those a client sends.
constexpr MessageType kClientTypes[] = {MessageType::subscribe, MessageType::unsubscribe, MessageType::sync,
                                        MessageType::patch,     MessageType::presence,    MessageType::auth,
                                        MessageType::ping,      MessageType::disconnect};

template <class Read>
double sum(const std::vector<const Worker*>& workers, Read read) {
  std::uint64_t total = 0;
  for (const auto* worker : workers) total += read(worker->metrics());
  return static_cast<double>(total);
}

}  // namespace

WorkerTotals::WorkerTotals(const Config& config, const Node& node, const ConnectionRegistry& registry,
                           std::vector<const Worker*> workers, WorkerGauges gauges)
    : config_(config), node_(node), registry_(registry), workers_(std::move(workers)), gauges_(gauges) {}

std::vector<MetricFamily> WorkerTotals::Collect() const {
  const auto status = node_.status();
  const auto& node = node_.metrics();
  constexpr auto counter = MetricType::Counter;
  constexpr auto gauge = MetricType::Gauge;
  std::vector<MetricFamily> out;

  auto build = family("natsync_build_info", "The running natsync's version (always 1).", gauge);
  build.metric.push_back(value(gauge, 1, {{"version", std::string(kVersion)}}));
  out.push_back(std::move(build));

  auto connections = family("natsync_connections", "Open WebSocket connections on this node.", gauge);
  const bool tls = !config_.tls_cert_file.empty();
  connections.metric.push_back(
      value(gauge, tls ? 0 : static_cast<double>(registry_.connections()), {{"transport", "ws"}}));
  connections.metric.push_back(
      value(gauge, tls ? static_cast<double>(registry_.connections()) : 0, {{"transport", "wss"}}));
  out.push_back(std::move(connections));
  out.push_back(single("natsync_users",
                       "Distinct users connected to this node (an anonymous connection counts one).", gauge,
                       static_cast<double>(registry_.clients())));
  out.push_back(single("natsync_subscriptions",
                       "Subscriptions of this node's connections (topics and patterns).", gauge,
                       static_cast<double>(gauges_.subscriptions)));
  out.push_back(single("natsync_topics", "Distinct topics and patterns with a subscriber on this node.",
                       gauge, static_cast<double>(gauges_.topics)));
  out.push_back(single("natsync_outbound_queue_bytes",
                       "Bytes queued to be written to this node's connections.", gauge,
                       static_cast<double>(gauges_.queued_bytes)));
  out.push_back(single("natsync_connections_accepted_total", "WebSocket upgrades accepted.", counter,
                       static_cast<double>(node.connections_accepted.value())));

  out.push_back(by_label("natsync_connections_refused_total", "WebSocket upgrades refused, by reason.",
                         "reason", node.refused, kRefusalReasons));

  auto disconnects =
      family("natsync_disconnects_total",
             "WebSocket connections ended, by close code (1006: without a close frame).", counter);
  for (std::size_t i = 0; i < DisconnectCodes::kCodes.size(); ++i) {
    const auto code = DisconnectCodes::kCodes[i];
    disconnects.metric.push_back(
        value(counter, sum(workers_, [i](const WorkerMetrics& m) { return m.disconnects[i].value(); }),
              {{"code", code == 0 ? std::string("other") : std::to_string(code)}}));
  }
  out.push_back(std::move(disconnects));

  auto received = family("natsync_messages_received_total", "Client messages received, by type.", counter);
  for (const auto type : kClientTypes) {
    const auto index = static_cast<std::size_t>(type);
    received.metric.push_back(
        value(counter,
              sum(workers_, [index](const WorkerMetrics& m) { return m.messages_received[index].value(); }),
              {{"type", std::string(to_string(type))}}));
  }
  out.push_back(std::move(received));

  auto publications =
      family("natsync_publications_total",
             "Publications made on this node, by source (broker: from other nodes).", counter);
  for (std::size_t i = 0; i < kPublicationSources.size(); ++i) {
    const auto source = static_cast<PublicationSource>(i);
    const auto count =
        source == PublicationSource::broker ? status.broker.received : node.publications[i].value();
    publications.metric.push_back(
        value(counter, static_cast<double>(count), {{"source", kPublicationSources[i]}}));
  }
  out.push_back(std::move(publications));

  out.push_back(single("natsync_deliveries_total", "Publications handed to connections (one per recipient).",
                       counter, sum(workers_, [](const WorkerMetrics& m) { return m.deliveries.value(); })));
  out.push_back(single("natsync_bytes_sent_total", "Bytes written to WebSocket connections.", counter,
                       sum(workers_, [](const WorkerMetrics& m) { return m.bytes_sent.value(); })));
  out.push_back(single("natsync_bytes_received_total", "Bytes read from WebSocket connections.", counter,
                       sum(workers_, [](const WorkerMetrics& m) { return m.bytes_received.value(); })));

  auto errors =
      family("natsync_errors_total", "Error messages sent to clients, by protocol error code.", counter);
  for (std::size_t i = 0; i < kErrorCodes; ++i) {
    errors.metric.push_back(value(counter,
                                  sum(workers_, [i](const WorkerMetrics& m) { return m.errors[i].value(); }),
                                  {{"code", std::string(to_string(static_cast<ErrorCode>(i)))}}));
  }
  out.push_back(std::move(errors));
  out.push_back(
      single("natsync_slow_consumer_disconnects_total",
             "Connections cut because their queue overflowed (close 4008).", counter,
             sum(workers_, [](const WorkerMetrics& m) { return m.slow_consumer_disconnects.value(); })));

  out.push_back(by_label("natsync_auth_failures_total",
                         "Failed authentications (upgrade, auth message, REST caller), by reason.", "reason",
                         node.auth_failures, kAuthFailures));

  auto latency =
      family("natsync_publish_to_write_seconds",
             "From a publication reaching this node's hub to its frames handed to the sockets of the "
             "connections that keep up (one sample per worker write round).",
             MetricType::Histogram);
  ClientMetric histogram;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= LatencyHistogram::kBounds.size(); ++i) {
    cumulative += static_cast<std::uint64_t>(
        sum(workers_, [i](const WorkerMetrics& m) { return m.publish_to_write.bucket(i); }));
    histogram.histogram.bucket.push_back({cumulative, i < LatencyHistogram::kBounds.size()
                                                          ? LatencyHistogram::kBounds[i]
                                                          : std::numeric_limits<double>::infinity()});
  }
  histogram.histogram.sample_count = cumulative;
  for (const auto* worker : workers_)
    histogram.histogram.sample_sum += worker->metrics().publish_to_write.sum_seconds();
  latency.metric.push_back(std::move(histogram));
  out.push_back(std::move(latency));

  out.push_back(single("natsync_broker_connected",
                       "1 when the broker to the other nodes is connected (always 1 standalone).", gauge,
                       status.broker.connected ? 1 : 0));
  out.push_back(single("natsync_broker_publish_errors_total",
                       "Publications NATS did not take (their publishers were told).", counter,
                       static_cast<double>(status.broker.publish_errors)));
  out.push_back(single("natsync_nodes",
                       "Nodes of the cluster this node heard from recently, itself included.", gauge,
                       static_cast<double>(status.broker.nodes)));

  auto recoveries =
      family("natsync_recoveries_total",
             "Resubscriptions with since, by whether every missed message was replayed.", counter);
  recoveries.metric.push_back(
      value(counter, static_cast<double>(node.recovered.value()), {{"recovered", "true"}}));
  recoveries.metric.push_back(
      value(counter, static_cast<double>(node.not_recovered.value()), {{"recovered", "false"}}));
  out.push_back(std::move(recoveries));
  out.push_back(single("natsync_history_messages",
                       "Messages held in the durable topics' history (0 without DURABLE_TOPICS).", gauge,
                       static_cast<double>(status.history_messages.value_or(0))));
  out.push_back(
      single("natsync_history_consumer_lag_messages",
             "Durable messages stored in JetStream that this node has not delivered yet (checked once a "
             "second).",
             gauge, static_cast<double>(status.history_lag)));
  out.push_back(single("natsync_documents", "Documents held in memory on this node.", gauge,
                       static_cast<double>(status.documents.value_or(0))));
  out.push_back(single("natsync_document_patches_total", "Document changes committed through this node.",
                       counter, static_cast<double>(node.document_patches.value())));
  const auto* presence = node_.presence();
  out.push_back(single("natsync_presence_members",
                       "Members of presence topics in the whole cluster, as this node knows them.", gauge,
                       presence != nullptr ? static_cast<double>(presence->members()) : 0));
  return out;
}

MetricsCollector::MetricsCollector(const Config& config, const Node& node, const ConnectionRegistry& registry,
                                   std::vector<Worker*> workers)
    : config_(config), node_(node), registry_(registry), workers_(std::move(workers)) {}

void MetricsCollector::render(std::function<void(std::string)> done) const {
  struct Gathering {
    std::mutex mutex;
    boost::unordered_flat_set<std::string> topics;
    WorkerGauges gauges;
    std::size_t left = 0;
    std::function<void(std::string)> done;
  };
  auto gathering = std::make_shared<Gathering>();
  gathering->left = workers_.size();
  gathering->done = std::move(done);
  const auto finish = [this](Gathering& state) {
    state.gauges.topics = state.topics.size();
    std::vector<const Worker*> workers(workers_.begin(), workers_.end());
    const WorkerTotals totals(config_, node_, registry_, std::move(workers), state.gauges);
    state.done(prometheus::TextSerializer().Serialize(totals.Collect()));
  };
  if (workers_.empty()) return finish(*gathering);
  for (auto* worker : workers_) {
    boost::asio::post(worker->io_context(), [worker, gathering, finish] {
      std::vector<std::string> topics;
      std::uint64_t subscriptions = 0;
      worker->hub().for_each_topic([&](std::string_view topic, std::size_t subscribers) {
        topics.emplace_back(topic);
        subscriptions += subscribers;
      });
      const auto queued = worker->queued_bytes();
      std::unique_lock lock(gathering->mutex);
      for (auto& topic : topics) gathering->topics.insert(std::move(topic));
      gathering->gauges.subscriptions += subscriptions;
      gathering->gauges.queued_bytes += queued;
      if (--gathering->left > 0) return;
      lock.unlock();
      finish(*gathering);
    });
  }
}

}  // namespace natsync
