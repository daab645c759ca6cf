#include "server/service.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <stdexcept>
#include <thread>

#include "documents/jetstream_documents.hpp"
#include "documents/local_documents.hpp"
#include "documents/sqlite_document_store.hpp"
#include "history/memory_history.hpp"
#include "logging/log_formatters.hpp"
#include "server/metrics_collector.hpp"
#include "server/setting_files.hpp"
#include "transport/http_session.hpp"
#include "transport/listener.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace {

// An embedding application may hand over a Config straight from load_config: what it
// names by file is read here then (the binary's main() has done it already).
Config with_setting_files(Config config) {
  if (auto error = load_setting_files(config); !error.empty()) throw std::runtime_error(error);
  return config;
}

std::shared_ptr<spdlog::logger> default_logger(LogLevel level, LogFormat format) {
  auto log = std::make_shared<spdlog::logger>("natsync", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  if (format == LogFormat::json) {
    log->set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    log->set_formatter(std::make_unique<TextLogFormatter>());
  }
  switch (level) {
    case LogLevel::debug: log->set_level(spdlog::level::debug); break;
    case LogLevel::info: log->set_level(spdlog::level::info); break;
    case LogLevel::warn: log->set_level(spdlog::level::warn); break;
    case LogLevel::error: log->set_level(spdlog::level::err); break;
  }
  log->flush_on(spdlog::level::debug);
  return log;
}

}  // namespace

Service::Service(Config config, std::shared_ptr<spdlog::logger> log)
    : config_(with_setting_files(std::move(config))),
      log_(log ? std::move(log) : default_logger(config_.log_level, config_.log_format)),
      auth_(config_),
      origins_(config_.allowed_origins),
      limiter_(ConnectionLimits{config_.max_connections, config_.max_connections_per_ip,
                                config_.max_connections_per_user,
                                static_cast<double>(config_.connection_rate_per_ip)}),
      tls_(config_.tls_cert_file.empty()
               ? nullptr
               : std::make_unique<TlsContext>(config_.tls_cert_file, config_.tls_key_file)),
      broker_(make_broker()),
      history_(make_history()),
      documents_(make_documents()),
      server_api_(*broker_, hub_),
      presence_(make_presence()),
      node_(*broker_, registry_, history_.get(), documents_.get(), &server_api_, presence_.get()),
      rest_(node_, auth_, origins_, config_.static_dir),
      context_{config_, node_, *broker_, auth_, origins_, registry_, limiter_, *log_, tls_.get()} {
  for (unsigned i = 0; i < config_.worker_threads; ++i) {
    auto worker = std::make_unique<Worker>(i, context_, rest_);
    hub_.add_shard(Hub::Shard{worker->io_context().get_executor(), &worker->hub(), &worker->metrics()});
    workers_.push_back(std::move(worker));
  }
  std::vector<Worker*> workers;
  for (auto& worker : workers_) workers.push_back(worker.get());
  metrics_ = std::make_unique<MetricsCollector>(config_, node_, registry_, std::move(workers));
  rest_.set_metrics(metrics_.get(), config_.metrics_public);
  rest_.set_admin_ui(config_.admin_ui);
}

Service::~Service() { stop(); }

std::unique_ptr<Broker> Service::make_broker() {
  if (config_.nats_servers.empty()) return std::make_unique<LocalBroker>(hub_, config_.node_id);
  NatsSettings settings;
  settings.servers = config_.nats_servers;
  settings.subject_prefix = config_.nats_subject_prefix;
  settings.node_id = config_.node_id;
  settings.reconnect_buffer_bytes = config_.nats_reconnect_buffer;
  auto broker = std::make_unique<NatsBroker>(std::move(settings), hub_, registry_, *log_);
  nats_ = broker.get();
  return broker;
}

std::unique_ptr<History> Service::make_history() {
  std::string error;
  auto patterns =
      TopicPattern::parse_list(split_list(config_.durable_topics), error);  // checked by load_config
  if (!patterns || patterns->empty()) return nullptr;
  HistorySettings settings{
      std::move(*patterns), config_.history_size,
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(config_.history_ttl)};
  if (config_.nats_servers.empty()) return std::make_unique<MemoryHistory>(std::move(settings), *broker_);
  JetStreamSettings jetstream;
  jetstream.servers = config_.nats_servers;
  jetstream.subject_prefix = config_.nats_subject_prefix;
  jetstream.node_id = config_.node_id;
  jetstream.history = std::move(settings);
  jetstream.replicas = static_cast<int>(config_.history_replicas);
  auto history = std::make_unique<JetStreamHistory>(std::move(jetstream), hub_, *log_);
  jetstream_ = history.get();
  return history;
}

std::unique_ptr<Documents> Service::make_documents() {
  std::string error;
  auto patterns =
      TopicPattern::parse_list(split_list(config_.document_topics), error);  // checked by load_config
  if (!patterns || patterns->empty()) return nullptr;
  DocumentSettings settings{std::move(*patterns), config_.document_max_bytes, config_.history_size};
  if (!config_.nats_servers.empty()) {
    JetStreamDocumentSettings jetstream;
    jetstream.servers = config_.nats_servers;
    jetstream.subject_prefix = config_.nats_subject_prefix;
    jetstream.node_id = config_.node_id;
    jetstream.documents = std::move(settings);
    jetstream.replicas = static_cast<int>(config_.history_replicas);
    auto documents = std::make_unique<JetStreamDocuments>(std::move(jetstream), hub_, *log_);
    jetstream_documents_ = documents.get();
    log_->info("documents: {} in JetStream stream {}", config_.document_topics,
               JetStreamDocuments::stream_name(config_.nats_subject_prefix));
    return documents;
  }
  std::unique_ptr<DocumentStore> store;
  if (config_.document_store == "memory") {
    store = std::make_unique<MemoryDocumentStore>(random_epoch());
  } else {
    store = std::make_unique<SqliteDocumentStore>(document_database_path(config_));
  }
  log_->info("documents: {} in {} (epoch {})", config_.document_topics,
             config_.document_store == "memory" ? std::string("memory") : document_database_path(config_),
             store->epoch());
  return std::make_unique<LocalDocuments>(std::move(settings), std::move(store), *broker_);
}

std::unique_ptr<Presence> Service::make_presence() {
  std::string error;
  auto patterns =
      TopicPattern::parse_list(split_list(config_.presence_topics), error);  // checked by load_config
  if (!patterns || patterns->empty()) return nullptr;
  return std::make_unique<Presence>(
      PresenceSettings{std::move(*patterns), config_.presence_max_members, config_.node_id}, *broker_, hub_,
      *log_);
}

void Service::start(bool listen) {
  if (listen) {
    boost::system::error_code ec;
    auto host = config_.listen.host == "localhost" ? std::string("127.0.0.1") : config_.listen.host;
    auto address = boost::asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("LISTEN_ADDR host '" + config_.listen.host + "' is not an IP address");
    const boost::asio::ip::tcp::endpoint endpoint{address, config_.listen.port};
    std::vector<Worker*> workers;
    for (auto& worker : workers_) workers.push_back(worker.get());
    try {
      listener_ =
          std::make_shared<Listener>(workers_.front()->io_context(), endpoint, std::move(workers), *log_);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("cannot listen on " + config_.listen.host + ":" +
                               std::to_string(config_.listen.port) + ": " + e.code().message());
    }
  }
  if (nats_) nats_->start();
  if (presence_) presence_->start();
  if (jetstream_) jetstream_->start();
  if (jetstream_documents_) jetstream_documents_->start();
  for (auto& worker : workers_) worker->start();
  running_ = true;

  if (!auth_.jwt_enabled()) {
    log_->warn(
        "neither JWT_SECRET nor JWT_PUBLIC_KEY_FILE is set: development mode, clients choose their identity "
        "with ?user_id=");
  }
  if (config_.api_key.empty()) {
    log_->warn("SYNC_API_KEY is not set: anyone who reaches the REST API can publish and broadcast");
  }
  if (listener_) {
    listener_->run();
    const auto endpoint = listener_->local_endpoint();
    log_->info("natsync listening on {}:{} ({}, {} workers, broker {}, node {})",
               endpoint.address().to_string(), endpoint.port(), tls_ ? "https and wss" : "http and ws",
               workers_.size(), broker_->status().name, config_.node_id);
  }
}

void Service::stop() {
  if (!running_) return;
  running_ = false;
  log_->info("shutting down: {} connections to close", registry_.connections());
  if (listener_) listener_->stop();
  for (auto& worker : workers_) worker->close_all_sessions();
  const auto deadline = std::chrono::steady_clock::now() + config_.shutdown_timeout;
  while (registry_.connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (registry_.connections() > 0) {
    log_->warn("shutdown timeout: cutting {} connections that did not close", registry_.connections());
  }
  // Before the workers go: nothing from NATS may be dispatched to them after this.
  if (jetstream_) jetstream_->stop();
  if (jetstream_documents_) jetstream_documents_->stop();
  if (presence_) presence_->stop();  // its goodbye goes out before NATS closes
  if (nats_) nats_->stop();
  for (auto& worker : workers_) worker->stop();
  log_->info("stopped");
}

bool Service::reload_tls() {
  if (!tls_) {
    log_->info("TLS reload asked for, but TLS is off (no TLS_CERT_FILE)");
    return false;
  }
  try {
    tls_->reload();
  } catch (const std::exception& e) {
    log_->error("TLS reload failed, still serving the previous certificate: {}", e.what());
    return false;
  }
  log_->info("TLS certificate reloaded from {} for new connections", tls_->cert_file());
  return true;
}

boost::asio::ip::tcp::endpoint Service::local_endpoint() const {
  return listener_ ? listener_->local_endpoint() : boost::asio::ip::tcp::endpoint{};
}

bool Service::handles_target(std::string_view target) {
  const auto path = target.substr(0, target.find('?'));
  return path == "/ws/sync" || path == "/healthz" || path == "/metrics" || path == "/admin" ||
         path.starts_with("/admin/") || path.starts_with("/api/sync/");
}

Worker& Service::next_worker() {
  return *workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

void Service::serve(boost::asio::ip::tcp::socket socket, std::optional<HttpRequest> request) {
  Worker& worker = next_worker();
  // Re-home the connection on the worker's io_context through its descriptor.
  const auto protocol = socket.local_endpoint().protocol();
  const auto handle = socket.release();
  boost::asio::post(worker.io_context(), [&worker, protocol, handle, request = std::move(request)] {
    auto session = std::make_shared<HttpSession>(
        boost::asio::ip::tcp::socket(worker.io_context(), protocol, handle), worker);
    if (request) {
      session->run(*request);
    } else {
      session->run();
    }
  });
}

}  // namespace natsync
