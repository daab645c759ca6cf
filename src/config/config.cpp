#include "config/config.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <tuple>

#include "config/config_file.hpp"
#include "config/version.hpp"
#include "protocol/topic.hpp"
#include "protocol/topic_pattern.hpp"

namespace natsync {
namespace {

// host name plus 6 random hex digits: readable in logs, unique across restarts.
std::string generate_node_id() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "natsync");
  std::random_device random;
  constexpr std::string_view digits = "0123456789abcdef";
  std::string id = std::string(host) + "-";
  for (int i = 0; i < 6; ++i) id.push_back(digits[random() % 16]);
  return id;
}

std::optional<std::size_t> parse_size(std::string_view text) {
  std::size_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// Raw text of every setting as given; converted and checked after CLI11 has merged
// flags and environment, so each error message names the setting the user wrote.
struct RawSettings {
  std::string listen_addr;
  std::string port;
  std::string ws_read_buffer_size = "1024";
  std::string ws_write_buffer_size = "1024";
  std::string ws_ping_interval = "54s";
  std::string ws_pong_wait = "60s";
  std::string ws_max_message_size = "65536";
  std::string ws_max_queue_bytes = "1048576";
  std::string allowed_origins;
  std::string log_level = "info";
  std::string worker_threads = "0";
  std::string http_max_body_size = "1048576";
  std::string auth_timeout = "10s";
  std::string jwt_leeway = "0s";
  std::string shutdown_timeout = "5s";
  std::string history_size = "1000";
  std::string history_ttl = "5m";
  std::string history_replicas = "1";
  std::string nats_url;
  std::string nats_reconnect_buffer = "8388608";
  std::string max_connections = "0";
  std::string max_connections_per_ip = "0";
  std::string max_connections_per_user = "0";
  std::string connection_rate_per_ip = "0";
  std::string max_subscriptions_per_connection = "1000";
  std::string max_topic_length = "256";
  std::string ws_message_rate = "1000";
  std::string ws_message_burst = "1000";
  std::string ws_compression = "off";
  std::string log_format = "text";
  std::string metrics_public = "off";
  std::string admin_ui = "off";
  std::string document_max_bytes = "262144";
  std::string presence_max_members = "1000";
};

}  // namespace

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    auto item = std::string(text.substr(start, comma - start));
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    start = comma + 1;
  }
  return out;
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // IPv6 literals must be bracketed
  }
  const auto port = parse_size(port_text);
  if (!port || *port > 65535) return std::nullopt;
  ListenAddress out;
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = static_cast<std::uint16_t>(*port);
  return out;
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn" || text == "warning") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

namespace {

// One setting: its flag, its environment variable, its help, where CLI11 writes its text,
// and what that text becomes (text settings are used as they are; the others are
// converted and range-checked by convert(), or by check_settings()).
struct Setting {
  const char* flag;
  const char* env;
  const char* help;
  std::string* text;
  std::size_t* size = nullptr;  // a whole number, at least `min`
  std::size_t min = 0;
  Duration* duration = nullptr;  // a Go duration from 0s to `max`
  Duration max{};
  const char* max_text = nullptr;
};

Setting text_setting(const char* flag, const char* env, const char* help, std::string& target) {
  return Setting{flag, env, help, &target};
}

Setting size_setting(const char* flag, const char* env, const char* help, std::string& text,
                     std::size_t& target, std::size_t min) {
  return Setting{flag, env, help, &text, &target, min};
}

// Upper bounds keep every deadline computed from these far from clock overflow.
Setting duration_setting(const char* flag, const char* env, const char* help, std::string& text,
                         Duration& target, Duration max, const char* max_text) {
  return Setting{flag, env, help, &text, nullptr, 0, &target, max, max_text};
}

// Every setting (--help lists them in this order).
std::vector<Setting> settings_of(Config& config, RawSettings& raw) {
  using std::chrono::hours;
  return {
      text_setting("--listen-addr", "LISTEN_ADDR", "host:port to listen on (default 0.0.0.0:8080)",
                   raw.listen_addr),
      text_setting("--port", "PORT", "port alone, used when LISTEN_ADDR is not set", raw.port),
      text_setting("--jwt-secret", "JWT_SECRET",
                   "HS256 secret; unset = development mode (?user_id= is trusted)", config.jwt_secret),
      text_setting("--jwt-public-key-file", "JWT_PUBLIC_KEY_FILE",
                   "PEM public key for RS256 (RSA) or ES256 (EC P-256) tokens", config.jwt_public_key_file),
      text_setting("--jwt-audience", "JWT_AUDIENCE", "when set, tokens' aud must include it",
                   config.jwt_audience),
      text_setting("--jwt-issuer", "JWT_ISSUER", "when set, tokens' iss must equal it", config.jwt_issuer),
      text_setting("--admin-role", "ADMIN_ROLE",
                   "a token whose role/roles claim holds this may use the REST API", config.admin_role),
      text_setting("--default-subscribe-topics", "DEFAULT_SUBSCRIBE_TOPICS",
                   "patterns a connection without a topics claim may subscribe to (> = all)",
                   config.default_subscribe_topics),
      text_setting("--default-publish-topics", "DEFAULT_PUBLISH_TOPICS",
                   "patterns a connection without a topics claim may sync into (> = all)",
                   config.default_publish_topics),
      text_setting("--personal-topic-prefix", "PERSONAL_TOPIC_PREFIX",
                   "PREFIX.<user>... topics are reachable by that user only; empty = off",
                   config.personal_topic_prefix),
      text_setting("--tls-cert-file", "TLS_CERT_FILE",
                   "PEM certificate chain: serve https:// and wss:// (with TLS_KEY_FILE)",
                   config.tls_cert_file),
      text_setting("--tls-key-file", "TLS_KEY_FILE", "PEM private key of TLS_CERT_FILE", config.tls_key_file),
      text_setting("--api-key", "SYNC_API_KEY", "key required by REST publish/broadcast; unset = open",
                   config.api_key),
      size_setting("--ws-read-buffer-size", "WS_READ_BUFFER_SIZE",
                   "read buffer a connection keeps between messages, bytes", raw.ws_read_buffer_size,
                   config.ws_read_buffer_size, 0),
      size_setting("--ws-write-buffer-size", "WS_WRITE_BUFFER_SIZE",
                   "frame write buffer per connection, bytes", raw.ws_write_buffer_size,
                   config.ws_write_buffer_size, 8),
      duration_setting("--ws-ping-interval", "WS_PING_INTERVAL", "ping period (Go duration)",
                       raw.ws_ping_interval, config.ws_ping_interval, hours(24), "24h"),
      duration_setting("--ws-pong-wait", "WS_PONG_WAIT", "close a peer silent this long (Go duration)",
                       raw.ws_pong_wait, config.ws_pong_wait, hours(24), "24h"),
      size_setting("--ws-max-message-size", "WS_MAX_MESSAGE_SIZE",
                   "largest client message, bytes (close 1009 above)", raw.ws_max_message_size,
                   config.ws_max_message_size, 16),
      size_setting("--ws-max-queue-bytes", "WS_MAX_QUEUE_BYTES",
                   "outbound bytes queued per connection before slow_consumer", raw.ws_max_queue_bytes,
                   config.ws_max_queue_bytes, 1024),
      text_setting("--allowed-origins", "ALLOWED_ORIGINS", "comma list of allowed Origin values; empty = any",
                   raw.allowed_origins),
      text_setting("--log-level", "LOG_LEVEL", "debug|info|warn|error", raw.log_level),
      text_setting("--log-format", "LOG_FORMAT", "text|json (json: one object a line)", raw.log_format),
      text_setting("--metrics-public", "METRICS_PUBLIC",
                   "on|off: GET /metrics without the API key (a scraper on a private network)",
                   raw.metrics_public),
      text_setting("--admin-ui", "ADMIN_UI", "on|off: the admin page at /admin (API key or admin token)",
                   raw.admin_ui),
      text_setting("--worker-threads", "WORKER_THREADS", "I/O threads; 0 = one per core", raw.worker_threads),
      text_setting("--nats-url", "NATS_URL",
                   "comma list of NATS servers (nats://host:4222,...); set = multi-node mode", raw.nats_url),
      text_setting("--nats-subject-prefix", "NATS_SUBJECT_PREFIX",
                   "first subject tokens of everything natsync sends on NATS", config.nats_subject_prefix),
      size_setting("--nats-reconnect-buffer", "NATS_RECONNECT_BUFFER",
                   "bytes of publishes buffered while NATS is unreachable (then 503)",
                   raw.nats_reconnect_buffer, config.nats_reconnect_buffer, 1024),
      text_setting("--node-id", "NODE_ID", "this node's id in the cluster (default: host-random)",
                   config.node_id),
      size_setting("--http-max-body-size", "HTTP_MAX_BODY_SIZE",
                   "largest REST request body, bytes (413 above)", raw.http_max_body_size,
                   config.http_max_body_size, 16),
      duration_setting("--auth-timeout", "AUTH_TIMEOUT",
                       "time an unauthenticated connection gets to send auth", raw.auth_timeout,
                       config.auth_timeout, hours(24), "24h"),
      duration_setting("--jwt-leeway", "JWT_LEEWAY", "clock skew allowed on exp/nbf", raw.jwt_leeway,
                       config.jwt_leeway, hours(1), "1h"),
      size_setting("--max-connections", "MAX_CONNECTIONS",
                   "WebSocket connections per node (503 above); 0 = no limit", raw.max_connections,
                   config.max_connections, 0),
      size_setting("--max-connections-per-ip", "MAX_CONNECTIONS_PER_IP",
                   "WebSocket connections per source IP (429 above); 0 = no limit",
                   raw.max_connections_per_ip, config.max_connections_per_ip, 0),
      size_setting("--max-connections-per-user", "MAX_CONNECTIONS_PER_USER",
                   "WebSocket connections per user id (429 above); 0 = no limit",
                   raw.max_connections_per_user, config.max_connections_per_user, 0),
      size_setting("--connection-rate-per-ip", "CONNECTION_RATE_PER_IP",
                   "new WebSocket connections a second from one IP (429 above); 0 = off",
                   raw.connection_rate_per_ip, config.connection_rate_per_ip, 0),
      size_setting("--max-subscriptions-per-connection", "MAX_SUBSCRIPTIONS_PER_CONNECTION",
                   "topics one connection may subscribe to; 0 = no limit",
                   raw.max_subscriptions_per_connection, config.max_subscriptions_per_connection, 0),
      size_setting("--max-topic-length", "MAX_TOPIC_LENGTH", "longest topic name, bytes (1-256)",
                   raw.max_topic_length, config.max_topic_length, 1),
      size_setting("--ws-message-rate", "WS_MESSAGE_RATE",
                   "messages a second one connection may send; 0 = off", raw.ws_message_rate,
                   config.ws_message_rate, 0),
      size_setting("--ws-message-burst", "WS_MESSAGE_BURST",
                   "messages one connection may send at once over the rate", raw.ws_message_burst,
                   config.ws_message_burst, 1),
      text_setting("--ws-compression", "WS_COMPRESSION",
                   "on|off: offer permessage-deflate (costs memory per compressing connection)",
                   raw.ws_compression),
      text_setting("--ws-echo-path", "WS_ECHO_PATH",
                   "testing aid: path of a WebSocket echo endpoint (e.g. /ws/echo); unset = off",
                   config.ws_echo_path),
      text_setting("--static-dir", "STATIC_DIR",
                   "directory of a web application's files, served at / (index.html for directories, "
                   "no listing); unset = off",
                   config.static_dir),
      duration_setting("--shutdown-timeout", "SHUTDOWN_TIMEOUT",
                       "longest graceful shutdown before connections are cut", raw.shutdown_timeout,
                       config.shutdown_timeout, hours(1), "1h"),
      text_setting("--durable-topics", "DURABLE_TOPICS",
                   "comma list of topic patterns that keep a history clients can recover from; empty = none",
                   config.durable_topics),
      size_setting("--history-size", "HISTORY_SIZE", "messages kept per durable topic", raw.history_size,
                   config.history_size, 1),
      duration_setting("--history-ttl", "HISTORY_TTL",
                       "longest a durable topic keeps a message (Go duration)", raw.history_ttl,
                       config.history_ttl, hours(24 * 30), "720h"),
      text_setting(
          "--document-topics", "DOCUMENT_TOPICS",
          "comma list of topic patterns that are shared JSON documents (docs/documents.md); empty = none",
          config.document_topics),
      size_setting("--document-max-bytes", "DOCUMENT_MAX_BYTES",
                   "largest document, bytes of compact JSON (document_too_large above)",
                   raw.document_max_bytes, config.document_max_bytes, 16),
      text_setting("--document-store", "DOCUMENT_STORE",
                   "sqlite (in DATA_DIR, survives restarts) or memory (lost on restart)",
                   config.document_store),
      text_setting("--data-dir", "DATA_DIR", "directory of the document store (created if missing)",
                   config.data_dir),
      text_setting("--presence-topics", "PRESENCE_TOPICS",
                   "comma list of topic patterns whose subscribers are tracked as members (join, leave, "
                   "presence); empty = none",
                   config.presence_topics),
      size_setting("--presence-max-members", "PRESENCE_MAX_MEMBERS",
                   "members listed in one presence answer (the counts stay exact)", raw.presence_max_members,
                   config.presence_max_members, 0),
      size_setting("--history-replicas", "HISTORY_REPLICAS",
                   "with NATS_URL: replicas of the JetStream stream that holds the history (1-5)",
                   raw.history_replicas, config.history_replicas, 1),
  };
}

// CONFIG_FILE's name: --config-file (either form) on the command line, else the variable.
std::string config_file_named(int argc, const char* const* argv) {
  constexpr std::string_view kFlag = "--config-file";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == kFlag && i + 1 < argc) return argv[i + 1];
    if (arg.starts_with(kFlag) && arg.size() > kFlag.size() && arg[kFlag.size()] == '=')
      return std::string(arg.substr(kFlag.size() + 1));
  }
  const char* variable = std::getenv("CONFIG_FILE");
  return variable != nullptr ? variable : "";
}

// Sets each setting the file names as its text before CLI11 reads the environment and the
// flags, which replace it when they give one. A key that names no setting is an error: a
// typo in a production file must not be silently ignored.
std::string apply_config_file(const std::string& path, const std::vector<Setting>& settings) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::string("cannot be read: ") + std::strerror(errno);
  std::string text;
  constexpr std::size_t kMaxBytes = 1 << 20;
  text.resize(kMaxBytes + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kMaxBytes) return "larger than 1 MiB";
  auto parsed = parse_config_file(text);
  if (auto* error = std::get_if<std::string>(&parsed)) return *error;
  for (const auto& entry : std::get<std::vector<ConfigFileEntry>>(parsed)) {
    if (entry.key == "CONFIG_FILE") return "CONFIG_FILE inside it (line " + std::to_string(entry.line) + ")";
    const auto it = std::find_if(settings.begin(), settings.end(),
                                 [&](const Setting& setting) { return entry.key == setting.env; });
    if (it == settings.end())
      return "unknown setting " + entry.key + " (line " + std::to_string(entry.line) + ")";
    *it->text = entry.value;
  }
  return {};
}

// The numbers and durations of `settings`: empty, or the first error.
std::string convert(const std::vector<Setting>& settings) {
  for (const auto& setting : settings) {
    const auto& text = *setting.text;
    if (setting.size != nullptr) {
      auto value = parse_size(text);
      if (!value || *value < setting.min) {
        return std::string(setting.env) + " '" + text +
               "' must be a whole number of bytes >= " + std::to_string(setting.min);
      }
      *setting.size = *value;
    } else if (setting.duration != nullptr) {
      auto value = parse_duration(text);
      if (!value)
        return std::string(setting.env) + " '" + text + "' is not a duration (examples: 500ms, 54s, 2m)";
      if (*value < Duration::zero() || *value > setting.max) {
        return std::string(setting.env) + " '" + text + "' must be between 0s and " + setting.max_text;
      }
      *setting.duration = *value;
    }
  }
  return {};
}

std::string apply_listen_address(Config& config, const RawSettings& raw) {
  if (!raw.listen_addr.empty()) {
    auto address = parse_listen_address(raw.listen_addr);
    if (!address) return "LISTEN_ADDR '" + raw.listen_addr + "' is not host:port";
    config.listen = *address;
  } else if (!raw.port.empty()) {
    auto port = parse_size(raw.port);
    if (!port || *port > 65535) return "PORT '" + raw.port + "' is not a port number";
    config.listen.port = static_cast<std::uint16_t>(*port);
  }

  return {};
}

// The rules between settings and the values with a syntax of their own.
std::string check_settings(Config& config, const RawSettings& raw) {
  if (config.auth_timeout <= Duration::zero()) return "AUTH_TIMEOUT must be > 0";
  if (config.history_ttl <= Duration::zero()) return "HISTORY_TTL must be > 0";
  if (config.history_size > 1000000) return "HISTORY_SIZE must be at most 1000000";
  if (config.history_replicas > 5) return "HISTORY_REPLICAS must be from 1 to 5 (JetStream's limit)";
  if (config.ws_ping_interval <= Duration::zero()) return "WS_PING_INTERVAL must be > 0";
  if (config.ws_pong_wait <= config.ws_ping_interval) {
    return "WS_PONG_WAIT (" + raw.ws_pong_wait + ") must be longer than WS_PING_INTERVAL (" +
           raw.ws_ping_interval + ")";
  }

  for (const auto& [name, text, target] :
       {std::tuple{"WS_COMPRESSION", &raw.ws_compression, &config.ws_compression},
        std::tuple{"METRICS_PUBLIC", &raw.metrics_public, &config.metrics_public},
        std::tuple{"ADMIN_UI", &raw.admin_ui, &config.admin_ui}}) {
    const auto& value = *text;
    if (value == "on" || value == "true" || value == "1") {
      *target = true;
    } else if (value != "off" && value != "false" && value != "0") {
      return std::string(name) + " '" + value + "' must be on or off";
    }
  }
  if (raw.log_format == "json") {
    config.log_format = LogFormat::json;
  } else if (raw.log_format != "text") {
    return "LOG_FORMAT '" + raw.log_format + "' must be text or json";
  }

  auto level = parse_log_level(raw.log_level);
  if (!level) return "LOG_LEVEL '" + raw.log_level + "' is not debug|info|warn|error";
  config.log_level = *level;

  auto threads = parse_size(raw.worker_threads);
  if (!threads || *threads > 1024) {
    return "WORKER_THREADS '" + raw.worker_threads + "' must be 0..1024";
  }
  config.worker_threads = static_cast<unsigned>(*threads);
  if (config.worker_threads == 0) config.worker_threads = std::max(1U, std::thread::hardware_concurrency());

  config.allowed_origins = split_list(raw.allowed_origins);

  config.nats_servers = split_list(raw.nats_url);
  for (const auto& server : config.nats_servers) {
    if (server.find("://") == std::string::npos && server.find(':') == std::string::npos) {
      return "NATS_URL entry '" + server + "' is not a server address (nats://host:port)";
    }
  }
  // The prefix is the first tokens of NATS subjects: the topic alphabet (SubjectMap).
  if (!is_valid_topic(config.nats_subject_prefix)) {
    return "NATS_SUBJECT_PREFIX '" + config.nats_subject_prefix +
           "' must be dot-separated tokens of [A-Za-z0-9_:-]";
  }
  if (config.max_topic_length > kMaxTopicLength) {
    return "MAX_TOPIC_LENGTH '" + raw.max_topic_length + "' must be at most 256 (topics are NATS subjects)";
  }
  if (config.ws_message_rate > 1000000 || config.ws_message_burst > 1000000 ||
      config.connection_rate_per_ip > 1000000) {
    return "WS_MESSAGE_RATE, WS_MESSAGE_BURST and CONNECTION_RATE_PER_IP must be at most 1000000";
  }
  if (config.nats_reconnect_buffer > std::size_t{1} << 30) {
    return "NATS_RECONNECT_BUFFER must be at most 1 GiB";
  }
  if (!config.ws_echo_path.empty() &&
      (config.ws_echo_path.front() != '/' || config.ws_echo_path == "/ws/sync")) {
    return "WS_ECHO_PATH '" + config.ws_echo_path + "' must be a path starting with / other than /ws/sync";
  }
  for (const auto& [name, text] : {std::pair{"DEFAULT_SUBSCRIBE_TOPICS", &config.default_subscribe_topics},
                                   std::pair{"DEFAULT_PUBLISH_TOPICS", &config.default_publish_topics}}) {
    std::string error;
    if (!TopicPattern::parse_list(split_list(*text), error)) return std::string(name) + ": " + error;
  }
  if (!config.personal_topic_prefix.empty() && !is_valid_topic(config.personal_topic_prefix)) {
    return "PERSONAL_TOPIC_PREFIX '" + config.personal_topic_prefix + "' is not a topic";
  }
  {
    std::string error;
    if (!TopicPattern::parse_list(split_list(config.durable_topics), error))
      return "DURABLE_TOPICS: " + error;
  }
  {
    std::string error;
    if (!TopicPattern::parse_list(split_list(config.document_topics), error))
      return "DOCUMENT_TOPICS: " + error;
  }
  {
    std::string error;
    if (!TopicPattern::parse_list(split_list(config.presence_topics), error))
      return "PRESENCE_TOPICS: " + error;
  }
  if (config.presence_max_members > 100'000) return "PRESENCE_MAX_MEMBERS must be at most 100000";
  if (config.document_store != "sqlite" && config.document_store != "memory")
    return "DOCUMENT_STORE '" + config.document_store + "' must be sqlite or memory";
  if (config.document_max_bytes > std::size_t{64} << 20U) return "DOCUMENT_MAX_BYTES must be at most 64 MiB";
  if (config.data_dir.empty()) return "DATA_DIR must not be empty";
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return "TLS_CERT_FILE and TLS_KEY_FILE go together: set both (TLS) or neither (plain HTTP)";
  }
  return {};
}

}  // namespace

ConfigOutcome load_config(int argc, const char* const* argv) {
  Config config;
  RawSettings raw;
  CLI::App app{"natsync: real-time data sync server (WebSocket + REST)", "natsync"};
  app.get_formatter()->column_width(34);
  const auto settings = settings_of(config, raw);
  // CONFIG_FILE first: its values become the defaults the environment and flags override.
  config.config_file = config_file_named(argc, argv);
  if (!config.config_file.empty()) {
    if (auto error = apply_config_file(config.config_file, settings); !error.empty())
      return {std::nullopt, 2,
              "natsync: invalid configuration: CONFIG_FILE '" + config.config_file + "': " + error};
  }
  for (const auto& setting : settings) {
    app.add_option(setting.flag, *setting.text, setting.help)->envname(setting.env)->capture_default_str();
  }
  std::string config_file_flag;
  app.add_option("--config-file", config_file_flag,
                 "file of KEY=value lines (a systemd EnvironmentFile); environment and flags override it")
      ->envname("CONFIG_FILE");
  bool check_only = false;
  bool version = false;
  app.add_flag("--check-config", check_only,
               "load and check every setting and file, then exit 0, or 2 with the error; binds nothing");
  app.add_flag("--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return {std::nullopt, 0, app.help()};
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, 2, std::string("natsync: ") + e.what()};
  }
  if (version) return {std::nullopt, 0, "natsync " + std::string(kVersion)};
  auto error = apply_listen_address(config, raw);
  if (error.empty()) error = convert(settings);
  if (error.empty()) error = check_settings(config, raw);
  if (!error.empty()) return {std::nullopt, 2, "natsync: invalid configuration: " + error};
  if (config.node_id.empty()) config.node_id = generate_node_id();
  if (config.node_id.size() > 128)
    return {std::nullopt, 2, "natsync: invalid configuration: NODE_ID must be at most 128 bytes"};
  return {std::move(config), 0, {}, check_only};
}

}  // namespace natsync
