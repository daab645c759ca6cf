#pragma once
// A whole natsync server as one object: workers, hub, broker, REST API and the
// listener. The `natsync` binary is a thin main() around it; an application can
// embed it instead, publish through node(), and either let it listen on its own
// port or hand it the connections its own HTTP server routes to /ws/sync and
// /api/sync/* (serve()).
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "api/rest_api.hpp"
#include "broker/local_broker.hpp"
#include "broker/nats_broker.hpp"
#include "config/config.hpp"
#include "core/server_context.hpp"
#include "documents/jetstream_documents.hpp"
#include "history/jetstream_history.hpp"
#include "hub/hub.hpp"

namespace spdlog {
class logger;
}

namespace natsync {

class Worker;
class Listener;
class MetricsCollector;

class Service {
 public:
  // `log` defaults to a logger on stdout at config.log_level.
  explicit Service(Config config, std::shared_ptr<spdlog::logger> log = nullptr);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the workers and, if `listen` is true, binds config.listen. Throws
  // std::runtime_error with a one-line reason when it cannot (port in use, …).
  void start(bool listen = true);
  // Graceful: stop accepting, tell every client {"type":"disconnect",…}, close
  // 1001, wait up to SHUTDOWN_TIMEOUT for them, then stop. Idempotent. Must not be
  // called from a worker thread.
  void stop();

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  Node& node() { return node_; }
  const Config& config() const { return config_; }
  spdlog::logger& log() { return *log_; }

  // Reads TLS_CERT_FILE and TLS_KEY_FILE again for new connections (SIGHUP); logs what
  // happened and keeps the current certificate when the files are not usable. False
  // then, or when TLS is off. Thread-safe.
  bool reload_tls();

  // True for the paths natsync serves: /ws/sync, /api/sync/…, /healthz.
  static bool handles_target(std::string_view target);
  // Takes over a connection accepted by the application (on any io_context). With
  // `request`, that first request was already read and is answered first.
  void serve(boost::asio::ip::tcp::socket socket, std::optional<HttpRequest> request = std::nullopt);

 private:
  std::unique_ptr<Broker> make_broker();
  std::unique_ptr<History> make_history();
  std::unique_ptr<Documents> make_documents();
  std::unique_ptr<Presence> make_presence();
  Worker& next_worker();

  Config config_;
  std::shared_ptr<spdlog::logger> log_;
  Authenticator auth_;
  OriginPolicy origins_;
  ConnectionRegistry registry_;
  ConnectionLimiter limiter_;
  std::unique_ptr<TlsContext> tls_;  // null: plain HTTP
  Hub hub_;
  // Declared before broker_: make_broker() sets it while broker_ is initialised.
  NatsBroker* nats_ = nullptr;  // broker_ when in multi-node mode
  std::unique_ptr<Broker> broker_;
  // Declared before history_, which make_history() sets it while initialising.
  JetStreamHistory* jetstream_ = nullptr;              // history_ when durable topics live in JetStream
  JetStreamDocuments* jetstream_documents_ = nullptr;  // documents_ in a cluster
  std::unique_ptr<History> history_;                   // null: no DURABLE_TOPICS
  std::unique_ptr<Documents> documents_;               // null: no DOCUMENT_TOPICS
  ServerApi server_api_;                               // after broker_: registers with it
  std::unique_ptr<Presence> presence_;                 // null: no PRESENCE_TOPICS
  Node node_;
  RestApi rest_;
  ServerContext context_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<MetricsCollector> metrics_;  // GET /metrics
  std::shared_ptr<Listener> listener_;
  std::atomic<std::size_t> next_worker_{0};
  bool running_ = false;
};

}  // namespace natsync
