#pragma once
// What the server counts for GET /metrics (docs/operations.md), kept where it happens and
// summed only when a scraper asks (server/metrics_collector).
//
// Two kinds, by who writes:
// - WorkerMetrics: one per worker, written only by that worker's thread. Its counters are
//   OwnedCounters: an add is a relaxed load and store, no locked instruction and no cache
//   line shared with another writer, so counting every delivery costs the message path
//   nothing measurable (docs/benchmarks.md has the A/B). A scrape reads them from another
//   thread and sees each value at most a moment old.
// - NodeMetrics: events that are rare next to deliveries (a connection accepted, a
//   publication, a refusal) and come from any thread: shared relaxed atomics.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "protocol/error_code.hpp"
#include "protocol/message_type.hpp"

namespace natsync {

// A counter (or gauge) with exactly one writing thread and readers anywhere.
class OwnedCounter {
 public:
  void add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A counter any thread adds to.
class SharedCounter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Latencies in fixed buckets (seconds, upper bounds), one writer. The buckets span what a
// healthy node shows (tens of microseconds) to what an alert is about (a second).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                  0.005,   0.01,   0.025,   0.05,   0.1,   1.0};
  void observe(std::chrono::nanoseconds elapsed) {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t bucket = 0;
    while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
    buckets_[bucket].add();  // the last one is +Inf
    sum_nanos_.add(static_cast<std::uint64_t>(elapsed.count() < 0 ? 0 : elapsed.count()));
  }
  // Per bucket, not cumulative; index kBounds.size() is over the last bound.
  std::uint64_t bucket(std::size_t index) const { return buckets_[index].value(); }
  double sum_seconds() const { return static_cast<double>(sum_nanos_.value()) / 1e9; }

 private:
  std::array<OwnedCounter, kBounds.size() + 1> buckets_;
  OwnedCounter sum_nanos_;
};

// The close codes counted by natsync_disconnects_total: those natsync sends or gets from
// well-behaved peers (error_code.hpp), 1006 for a connection that ended without a close
// frame, and "other" for any code a peer made up.
struct DisconnectCodes {
  static constexpr std::array<unsigned short, 18> kCodes{1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009,
                                                         1011, 4001, 4003, 4008, 4010, 4011, 4029, 4030, 0};
  static constexpr std::size_t index(unsigned short code) {
    for (std::size_t i = 0; i + 1 < kCodes.size(); ++i) {
      if (kCodes[i] == code) return i;
    }
    return kCodes.size() - 1;  // other
  }
};

inline constexpr std::size_t kMessageTypes = static_cast<std::size_t>(MessageType::presence_summary) + 1;
inline constexpr std::size_t kErrorCodes = static_cast<std::size_t>(ErrorCode::internal_error) + 1;

struct WorkerMetrics {
  OwnedCounter deliveries;      // publication frames handed to connections
  OwnedCounter bytes_sent;      // written to sockets (frames and handshake replies)
  OwnedCounter bytes_received;  // read from WebSocket sockets
  OwnedCounter slow_consumer_disconnects;
  std::array<OwnedCounter, kMessageTypes> messages_received;  // by client message type
  std::array<OwnedCounter, kErrorCodes> errors;               // error messages sent, by code
  std::array<OwnedCounter, DisconnectCodes::kCodes.size()> disconnects;
  // Publication made -> its frames handed to the sockets of the connections that keep up:
  // the worker's write round after a delivery observes the time since the first
  // publication delivered before it (sample_from, the worker thread's own; zero: none).
  LatencyHistogram publish_to_write;
  std::chrono::steady_clock::time_point sample_from{};

  void count_error(ErrorCode code) { errors[static_cast<std::size_t>(code)].add(); }
  void count_message(MessageType type) { messages_received[static_cast<std::size_t>(type)].add(); }
  void count_disconnect(unsigned short code) { disconnects[DisconnectCodes::index(code)].add(); }
};

// Why an upgrade to a WebSocket was refused (natsync_connections_refused_total).
enum class RefusalReason {
  bad_upgrade,
  not_found,
  origin,
  auth,
  server_full,
  per_ip,
  per_user,
  rate,
  open_files
};
inline constexpr std::array<const char*, 9> kRefusalReasons{
    "bad_upgrade", "not_found", "origin", "auth", "server_full", "per_ip", "per_user", "rate", "open_files"};

// Why an authentication failed (natsync_auth_failures_total).
enum class AuthFailure { bad_token, expired, missing, wrong_user, api_key };
inline constexpr std::array<const char*, 5> kAuthFailures{"bad_token", "expired", "missing", "wrong_user",
                                                          "api_key"};

// What an authentication error says about why it failed.
constexpr AuthFailure auth_failure_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::token_expired: return AuthFailure::expired;
    case ErrorCode::not_authenticated: return AuthFailure::missing;
    default: return AuthFailure::bad_token;
  }
}

// Where a publication came from (natsync_publications_total).
enum class PublicationSource { sync, rest, api, broker };
inline constexpr std::array<const char*, 4> kPublicationSources{"sync", "rest", "api", "broker"};

struct NodeMetrics {
  SharedCounter connections_accepted;
  std::array<SharedCounter, kRefusalReasons.size()> refused;
  std::array<SharedCounter, kAuthFailures.size()> auth_failures;
  std::array<SharedCounter, kPublicationSources.size()> publications;
  SharedCounter recovered;      // since-resubscriptions answered recovered:true
  SharedCounter not_recovered;  // … recovered:false
  SharedCounter document_patches;

  void refuse(RefusalReason reason) { refused[static_cast<std::size_t>(reason)].add(); }
  void auth_failed(AuthFailure why) { auth_failures[static_cast<std::size_t>(why)].add(); }
  void published(PublicationSource source) { publications[static_cast<std::size_t>(source)].add(); }
  void recovery(bool recovered_all) { (recovered_all ? recovered : not_recovered).add(); }
};

}  // namespace natsync
