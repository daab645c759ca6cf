#include "config/config.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "broker/subjects.hpp"
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

ConfigOutcome load_config(int argc, const char* const* argv) {
  Config config;
  RawSettings raw;
  CLI::App app{"natsync: real-time data sync server (WebSocket + REST)", "natsync"};
  app.get_formatter()->column_width(34);

  const auto add = [&app](const std::string& flag, std::string& target, const std::string& env,
                          const std::string& help) {
    app.add_option(flag, target, help)->envname(env)->capture_default_str();
  };
  add("--listen-addr", raw.listen_addr, "LISTEN_ADDR", "host:port to listen on (default 0.0.0.0:8080)");
  add("--port", raw.port, "PORT", "port alone, used when LISTEN_ADDR is not set");
  add("--jwt-secret", config.jwt_secret, "JWT_SECRET",
      "HS256 secret; unset = development mode (?user_id= is trusted)");
  add("--jwt-public-key-file", config.jwt_public_key_file, "JWT_PUBLIC_KEY_FILE",
      "PEM public key for RS256 (RSA) or ES256 (EC P-256) tokens");
  add("--jwt-audience", config.jwt_audience, "JWT_AUDIENCE", "when set, tokens' aud must include it");
  add("--jwt-issuer", config.jwt_issuer, "JWT_ISSUER", "when set, tokens' iss must equal it");
  add("--admin-role", config.admin_role, "ADMIN_ROLE",
      "a token whose role/roles claim holds this may use the REST API");
  add("--default-subscribe-topics", config.default_subscribe_topics, "DEFAULT_SUBSCRIBE_TOPICS",
      "patterns a connection without a topics claim may subscribe to (> = all)");
  add("--default-publish-topics", config.default_publish_topics, "DEFAULT_PUBLISH_TOPICS",
      "patterns a connection without a topics claim may sync into (> = all)");
  add("--personal-topic-prefix", config.personal_topic_prefix, "PERSONAL_TOPIC_PREFIX",
      "PREFIX.<user>... topics are reachable by that user only; empty = off");
  add("--tls-cert-file", config.tls_cert_file, "TLS_CERT_FILE",
      "PEM certificate chain: serve https:// and wss:// (with TLS_KEY_FILE)");
  add("--tls-key-file", config.tls_key_file, "TLS_KEY_FILE", "PEM private key of TLS_CERT_FILE");
  add("--api-key", config.api_key, "SYNC_API_KEY", "key required by REST publish/broadcast; unset = open");
  add("--ws-read-buffer-size", raw.ws_read_buffer_size, "WS_READ_BUFFER_SIZE",
      "read buffer a connection keeps between messages, bytes");
  add("--ws-write-buffer-size", raw.ws_write_buffer_size, "WS_WRITE_BUFFER_SIZE",
      "frame write buffer per connection, bytes");
  add("--ws-ping-interval", raw.ws_ping_interval, "WS_PING_INTERVAL", "ping period (Go duration)");
  add("--ws-pong-wait", raw.ws_pong_wait, "WS_PONG_WAIT", "close a peer silent this long (Go duration)");
  add("--ws-max-message-size", raw.ws_max_message_size, "WS_MAX_MESSAGE_SIZE",
      "largest client message, bytes (close 1009 above)");
  add("--ws-max-queue-bytes", raw.ws_max_queue_bytes, "WS_MAX_QUEUE_BYTES",
      "outbound bytes queued per connection before slow_consumer");
  add("--allowed-origins", raw.allowed_origins, "ALLOWED_ORIGINS",
      "comma list of allowed Origin values; empty = any");
  add("--log-level", raw.log_level, "LOG_LEVEL", "debug|info|warn|error");
  add("--worker-threads", raw.worker_threads, "WORKER_THREADS", "I/O threads; 0 = one per core");
  add("--nats-url", raw.nats_url, "NATS_URL",
      "comma list of NATS servers (nats://host:4222,...); set = multi-node mode");
  add("--nats-subject-prefix", config.nats_subject_prefix, "NATS_SUBJECT_PREFIX",
      "first subject tokens of everything natsync sends on NATS");
  add("--nats-reconnect-buffer", raw.nats_reconnect_buffer, "NATS_RECONNECT_BUFFER",
      "bytes of publishes buffered while NATS is unreachable (then 503)");
  add("--node-id", config.node_id, "NODE_ID", "this node's id in the cluster (default: host-random)");
  add("--http-max-body-size", raw.http_max_body_size, "HTTP_MAX_BODY_SIZE",
      "largest REST request body, bytes (413 above)");
  add("--auth-timeout", raw.auth_timeout, "AUTH_TIMEOUT",
      "time an unauthenticated connection gets to send auth");
  add("--jwt-leeway", raw.jwt_leeway, "JWT_LEEWAY", "clock skew allowed on exp/nbf");
  add("--max-connections", raw.max_connections, "MAX_CONNECTIONS",
      "WebSocket connections per node (503 above); 0 = no limit");
  add("--max-connections-per-ip", raw.max_connections_per_ip, "MAX_CONNECTIONS_PER_IP",
      "WebSocket connections per source IP (429 above); 0 = no limit");
  add("--max-connections-per-user", raw.max_connections_per_user, "MAX_CONNECTIONS_PER_USER",
      "WebSocket connections per user id (429 above); 0 = no limit");
  add("--connection-rate-per-ip", raw.connection_rate_per_ip, "CONNECTION_RATE_PER_IP",
      "new WebSocket connections a second from one IP (429 above); 0 = off");
  add("--max-subscriptions-per-connection", raw.max_subscriptions_per_connection,
      "MAX_SUBSCRIPTIONS_PER_CONNECTION", "topics one connection may subscribe to; 0 = no limit");
  add("--max-topic-length", raw.max_topic_length, "MAX_TOPIC_LENGTH", "longest topic name, bytes (1-256)");
  add("--ws-message-rate", raw.ws_message_rate, "WS_MESSAGE_RATE",
      "messages a second one connection may send; 0 = off");
  add("--ws-message-burst", raw.ws_message_burst, "WS_MESSAGE_BURST",
      "messages one connection may send at once over the rate");
  add("--ws-compression", raw.ws_compression, "WS_COMPRESSION",
      "on|off: offer permessage-deflate (costs memory per compressing connection)");
  add("--ws-echo-path", config.ws_echo_path, "WS_ECHO_PATH",
      "testing aid: path of a WebSocket echo endpoint (e.g. /ws/echo); unset = off");
  add("--shutdown-timeout", raw.shutdown_timeout, "SHUTDOWN_TIMEOUT",
      "longest graceful shutdown before connections are cut");
  add("--durable-topics", config.durable_topics, "DURABLE_TOPICS",
      "comma list of topic patterns that keep a history clients can recover from; empty = none");
  add("--history-size", raw.history_size, "HISTORY_SIZE", "messages kept per durable topic");
  add("--history-ttl", raw.history_ttl, "HISTORY_TTL",
      "longest a durable topic keeps a message (Go duration)");
  add("--history-replicas", raw.history_replicas, "HISTORY_REPLICAS",
      "with NATS_URL: replicas of the JetStream stream that holds the history (1-5)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return {std::nullopt, 0, app.help()};
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, 2, std::string("natsync: ") + e.what()};
  }

  const auto fail = [](const std::string& what) {
    return ConfigOutcome{std::nullopt, 2, "natsync: invalid configuration: " + what};
  };
  if (!raw.listen_addr.empty()) {
    auto address = parse_listen_address(raw.listen_addr);
    if (!address) return fail("LISTEN_ADDR '" + raw.listen_addr + "' is not host:port");
    config.listen = *address;
  } else if (!raw.port.empty()) {
    auto port = parse_size(raw.port);
    if (!port || *port > 65535) return fail("PORT '" + raw.port + "' is not a port number");
    config.listen.port = static_cast<std::uint16_t>(*port);
  }

  struct SizeSetting {
    const char* name;
    const std::string& text;
    std::size_t& target;
    std::size_t min;
  };
  const SizeSetting sizes[] = {
      {"WS_READ_BUFFER_SIZE", raw.ws_read_buffer_size, config.ws_read_buffer_size, 0},
      {"WS_WRITE_BUFFER_SIZE", raw.ws_write_buffer_size, config.ws_write_buffer_size, 8},
      {"WS_MAX_MESSAGE_SIZE", raw.ws_max_message_size, config.ws_max_message_size, 16},
      {"WS_MAX_QUEUE_BYTES", raw.ws_max_queue_bytes, config.ws_max_queue_bytes, 1024},
      {"HTTP_MAX_BODY_SIZE", raw.http_max_body_size, config.http_max_body_size, 16},
      {"NATS_RECONNECT_BUFFER", raw.nats_reconnect_buffer, config.nats_reconnect_buffer, 1024},
      {"MAX_CONNECTIONS", raw.max_connections, config.max_connections, 0},
      {"MAX_CONNECTIONS_PER_IP", raw.max_connections_per_ip, config.max_connections_per_ip, 0},
      {"MAX_CONNECTIONS_PER_USER", raw.max_connections_per_user, config.max_connections_per_user, 0},
      {"CONNECTION_RATE_PER_IP", raw.connection_rate_per_ip, config.connection_rate_per_ip, 0},
      {"MAX_SUBSCRIPTIONS_PER_CONNECTION", raw.max_subscriptions_per_connection,
       config.max_subscriptions_per_connection, 0},
      {"MAX_TOPIC_LENGTH", raw.max_topic_length, config.max_topic_length, 1},
      {"WS_MESSAGE_RATE", raw.ws_message_rate, config.ws_message_rate, 0},
      {"WS_MESSAGE_BURST", raw.ws_message_burst, config.ws_message_burst, 1},
      {"HISTORY_SIZE", raw.history_size, config.history_size, 1},
      {"HISTORY_REPLICAS", raw.history_replicas, config.history_replicas, 1},
  };
  for (const auto& setting : sizes) {
    auto value = parse_size(setting.text);
    if (!value || *value < setting.min) {
      return fail(std::string(setting.name) + " '" + setting.text +
                  "' must be a whole number of bytes >= " + std::to_string(setting.min));
    }
    setting.target = *value;
  }

  // Upper bounds keep every deadline computed from these far from clock overflow.
  struct DurationSetting {
    const char* name;
    const std::string& text;
    Duration& target;
    Duration max;
    const char* max_text;
  };
  using std::chrono::hours;
  const DurationSetting durations[] = {
      {"WS_PING_INTERVAL", raw.ws_ping_interval, config.ws_ping_interval, hours(24), "24h"},
      {"WS_PONG_WAIT", raw.ws_pong_wait, config.ws_pong_wait, hours(24), "24h"},
      {"AUTH_TIMEOUT", raw.auth_timeout, config.auth_timeout, hours(24), "24h"},
      {"JWT_LEEWAY", raw.jwt_leeway, config.jwt_leeway, hours(1), "1h"},
      {"SHUTDOWN_TIMEOUT", raw.shutdown_timeout, config.shutdown_timeout, hours(1), "1h"},
      {"HISTORY_TTL", raw.history_ttl, config.history_ttl, hours(24 * 30), "720h"},
  };
  for (const auto& setting : durations) {
    auto value = parse_duration(setting.text);
    if (!value) {
      return fail(std::string(setting.name) + " '" + setting.text +
                  "' is not a duration (examples: 500ms, 54s, 2m)");
    }
    if (*value < Duration::zero() || *value > setting.max) {
      return fail(std::string(setting.name) + " '" + setting.text + "' must be between 0s and " +
                  setting.max_text);
    }
    setting.target = *value;
  }
  if (config.auth_timeout <= Duration::zero()) return fail("AUTH_TIMEOUT must be > 0");
  if (config.history_ttl <= Duration::zero()) return fail("HISTORY_TTL must be > 0");
  if (config.history_size > 1000000) return fail("HISTORY_SIZE must be at most 1000000");
  if (config.history_replicas > 5) return fail("HISTORY_REPLICAS must be from 1 to 5 (JetStream's limit)");
  if (config.ws_ping_interval <= Duration::zero()) return fail("WS_PING_INTERVAL must be > 0");
  if (config.ws_pong_wait <= config.ws_ping_interval) {
    return fail("WS_PONG_WAIT (" + raw.ws_pong_wait + ") must be longer than WS_PING_INTERVAL (" +
                raw.ws_ping_interval + ")");
  }

  if (raw.ws_compression == "on" || raw.ws_compression == "true" || raw.ws_compression == "1") {
    config.ws_compression = true;
  } else if (raw.ws_compression != "off" && raw.ws_compression != "false" && raw.ws_compression != "0") {
    return fail("WS_COMPRESSION '" + raw.ws_compression + "' must be on or off");
  }

  auto level = parse_log_level(raw.log_level);
  if (!level) return fail("LOG_LEVEL '" + raw.log_level + "' is not debug|info|warn|error");
  config.log_level = *level;

  auto threads = parse_size(raw.worker_threads);
  if (!threads || *threads > 1024) {
    return fail("WORKER_THREADS '" + raw.worker_threads + "' must be 0..1024");
  }
  config.worker_threads = static_cast<unsigned>(*threads);
  if (config.worker_threads == 0) config.worker_threads = std::max(1U, std::thread::hardware_concurrency());

  config.allowed_origins = split_list(raw.allowed_origins);

  config.nats_servers = split_list(raw.nats_url);
  for (const auto& server : config.nats_servers) {
    if (server.find("://") == std::string::npos && server.find(':') == std::string::npos) {
      return fail("NATS_URL entry '" + server + "' is not a server address (nats://host:port)");
    }
  }
  if (!SubjectMap::valid_prefix(config.nats_subject_prefix)) {
    return fail("NATS_SUBJECT_PREFIX '" + config.nats_subject_prefix +
                "' must be dot-separated tokens of [A-Za-z0-9_:-]");
  }
  if (config.max_topic_length > kMaxTopicLength) {
    return fail("MAX_TOPIC_LENGTH '" + raw.max_topic_length +
                "' must be at most 256 (topics are NATS subjects)");
  }
  if (config.ws_message_rate > 1000000 || config.ws_message_burst > 1000000 ||
      config.connection_rate_per_ip > 1000000) {
    return fail("WS_MESSAGE_RATE, WS_MESSAGE_BURST and CONNECTION_RATE_PER_IP must be at most 1000000");
  }
  if (config.nats_reconnect_buffer > std::size_t{1} << 30) {
    return fail("NATS_RECONNECT_BUFFER must be at most 1 GiB");
  }
  if (!config.ws_echo_path.empty() &&
      (config.ws_echo_path.front() != '/' || config.ws_echo_path == "/ws/sync")) {
    return fail("WS_ECHO_PATH '" + config.ws_echo_path +
                "' must be a path starting with / other than /ws/sync");
  }
  for (const auto& [name, text] : {std::pair{"DEFAULT_SUBSCRIBE_TOPICS", &config.default_subscribe_topics},
                                   std::pair{"DEFAULT_PUBLISH_TOPICS", &config.default_publish_topics}}) {
    std::string error;
    if (!TopicPattern::parse_list(split_list(*text), error)) return fail(std::string(name) + ": " + error);
  }
  if (!config.personal_topic_prefix.empty() && !is_valid_topic(config.personal_topic_prefix)) {
    return fail("PERSONAL_TOPIC_PREFIX '" + config.personal_topic_prefix + "' is not a topic");
  }
  {
    std::string error;
    if (!TopicPattern::parse_list(split_list(config.durable_topics), error))
      return fail("DURABLE_TOPICS: " + error);
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return fail("TLS_CERT_FILE and TLS_KEY_FILE go together: set both (TLS) or neither (plain HTTP)");
  }
  if (config.node_id.empty()) config.node_id = generate_node_id();
  if (config.node_id.size() > 128) return fail("NODE_ID must be at most 128 bytes");
  return {std::move(config), 0, {}};
}

}  // namespace natsync
