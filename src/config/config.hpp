#pragma once
// Server configuration: every setting is an environment variable and a flag of the
// same meaning (--help lists them with defaults). Parsed once at start into a value
// that the rest of the server reads but never changes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/duration.hpp"

namespace natsync {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { text, json };

struct ListenAddress {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;  // 0 picks a free port; the server logs the one it got.
};

struct Config {
  ListenAddress listen;
  std::string jwt_secret;            // HS256; with jwt_public_key empty too: development mode (?user_id=)
  std::string jwt_public_key_file;   // PEM public key: RS256 (RSA) or ES256 (P-256)
  std::string jwt_public_key;        // its contents (load_setting_files reads them)
  std::string jwt_audience;          // when set, tokens' "aud" must include it
  std::string jwt_issuer;            // when set, tokens' "iss" must equal it
  std::string admin_role = "admin";  // a token with this role may use the REST API
  // Topic permissions for connections whose token has no "topics" claim (and in
  // development mode): comma lists of NATS-style patterns; ">" = everything.
  std::string default_subscribe_topics = ">";
  std::string default_publish_topics = ">";
  std::string personal_topic_prefix = "private";  // PREFIX.<user>[.…] only for <user>; empty = off
  std::string api_key;                            // empty: REST publish/broadcast are open
  std::size_t ws_read_buffer_size = 1024;
  std::size_t ws_write_buffer_size = 1024;
  Duration ws_ping_interval = std::chrono::seconds(54);
  Duration ws_pong_wait = std::chrono::seconds(60);
  std::size_t ws_max_message_size = std::size_t{64} * 1024;
  // Bytes queued for one connection before it is cut off as a slow consumer.
  std::size_t ws_max_queue_bytes = std::size_t{1024} * 1024;
  std::vector<std::string> allowed_origins;  // empty: any origin
  LogLevel log_level = LogLevel::info;
  unsigned worker_threads = 0;  // 0: one per core
  // Multi-node mode (docs/cluster.md): empty = standalone.
  std::vector<std::string> nats_servers;
  std::string nats_subject_prefix = "natsync";
  std::size_t nats_reconnect_buffer = std::size_t{8} * 1024 * 1024;
  std::string node_id;  // unique per node; generated (host name + random) when not given
  std::size_t http_max_body_size = std::size_t{1024} * 1024;
  std::size_t http_max_header_size = std::size_t{8} * 1024;
  Duration auth_timeout = std::chrono::seconds(10);
  Duration jwt_leeway = std::chrono::seconds(0);
  Duration shutdown_timeout = std::chrono::seconds(5);
  // Abuse limits (docs/security.md). 0 = no limit / off.
  std::size_t max_connections = 0;           // per node
  std::size_t max_connections_per_ip = 0;    // per source IP
  std::size_t max_connections_per_user = 0;  // per authenticated user id
  std::size_t connection_rate_per_ip = 0;    // new connections a second from one IP
  std::size_t max_subscriptions_per_connection = 1000;
  std::size_t max_topic_length = 256;  // at most 256: topics are NATS subjects
  // Inbound messages per connection on /ws/sync: a token bucket of `rate` a second,
  // `burst` deep. Over it a message gets `rate_limited`; `burst` refused in a row closes
  // the connection with 4029.
  std::size_t ws_message_rate = 1000;
  std::size_t ws_message_burst = 1000;
  // permessage-deflate (RFC 7692) offered to clients that ask for it.
  bool ws_compression = false;
  // Testing aid (conformance suites expect an echo peer): a second WebSocket path served
  // by the same transport that echoes every message back. Empty = off.
  std::string ws_echo_path;
  // STATIC_DIR: files served at `/` (a web application; empty = none).
  std::string static_dir;
  // History of durable topics (docs/history.md): comma list of NATS-style patterns
  // (empty = no topic keeps history); per topic the last `history_size` messages, none
  // older than `history_ttl`.
  std::string durable_topics;
  std::size_t history_size = 1000;
  Duration history_ttl = std::chrono::minutes(5);
  // With NATS_URL the history is a JetStream stream with this many replicas (1-5; 3 on a
  // 3-server JetStream cluster keeps it through the loss of one server).
  std::size_t history_replicas = 1;
  // Shared JSON documents (docs/documents.md): comma list of NATS-style patterns; the
  // largest document (compact JSON); where they persist: "sqlite" in `data_dir`, or
  // "memory" (lost on restart). HISTORY_SIZE changes per document are kept for catch-up.
  std::string document_topics;
  std::size_t document_max_bytes = std::size_t{256} * 1024;
  std::string document_store = "sqlite";
  std::string data_dir = "./data";
  // Presence (docs/protocol.md): comma list of NATS-style patterns whose subscribers are
  // members (join/leave events, the presence request); the most members one answer lists.
  std::string presence_topics;
  std::size_t presence_max_members = 1000;
  // TLS (https:// and wss://): both set, or neither (plain HTTP).
  std::string tls_cert_file;  // PEM certificate chain, the server's certificate first
  std::string tls_key_file;   // PEM private key of that certificate
  // Operations (docs/operations.md).
  LogFormat log_format = LogFormat::text;  // LOG_FORMAT: json = one JSON object a line
  bool metrics_public = false;             // METRICS_PUBLIC: GET /metrics without the API key
  bool admin_ui = false;                   // ADMIN_UI: the admin page at /admin
  std::string config_file;                 // CONFIG_FILE: KEY=value lines (already applied)
};

// What reading the command line and environment decided: run with `config`, or exit
// now with `exit_code` after printing `message` (help text, or one line of error).
struct ConfigOutcome {
  std::optional<Config> config;
  int exit_code = 0;
  std::string message;
  bool check_only = false;  // --check-config: validate everything, then exit (0 or 2)
};

ConfigOutcome load_config(int argc, const char* const* argv);

std::optional<ListenAddress> parse_listen_address(std::string_view text);
// The items of a comma list, blanks around them trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view text);
std::optional<LogLevel> parse_log_level(std::string_view text);

}  // namespace natsync
