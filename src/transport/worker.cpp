#include "transport/worker.hpp"

#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <vector>

#include "transport/websocket_connection.hpp"

namespace natsync {

namespace {

// At most this many handlers run between two flushes (see Worker::start).
constexpr std::size_t kMaxHandlersPerRound = 4096;

// A quarter of the shortest deadline the sweep enforces, so each is met within 25%;
// at most 1 s (idle cost) and at least 10 ms (test settings).
std::chrono::steady_clock::duration sweep_period_for(const Config& config) {
  auto shortest =
      std::min({config.ws_ping_interval, config.ws_pong_wait - config.ws_ping_interval, config.auth_timeout});
  auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(shortest / 4);
  return std::clamp<std::chrono::steady_clock::duration>(period, std::chrono::milliseconds(10),
                                                         std::chrono::seconds(1));
}

}  // namespace

Worker::Worker(unsigned index, const ServerContext& context, const RestApi& rest)
    : index_(index),
      context_(context),
      rest_(rest),
      parser_(context.config.max_topic_length),
      work_(io_context_.get_executor()),
      sweep_timer_(io_context_),
      sweep_period_(sweep_period_for(context.config)) {}

Worker::~Worker() { stop(); }

void Worker::start() {
  schedule_sweep();
  thread_ = std::thread([this] {
    // OpenSSL writes TLS connections' records with write(2), which raises SIGPIPE when
    // the peer is gone, and SIGPIPE kills the process by default. Blocked on this
    // thread, the write just fails with EPIPE, without changing the signal's handling
    // for the rest of an embedding application.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    for (;;) {
      try {
        // Run what is ready, then write what it queued (corking): everything that
        // arrived together leaves together, one gather write per connection.
        while (!io_context_.stopped()) {
          // A flush asked for during the last one (a session whose write completed at
          // once, with more queued) must not wait here for some unrelated event: up to
          // the next sweep, a second, on an otherwise quiet worker.
          if (flush_list_.empty()) io_context_.run_one();
          // A bounded round: handlers that keep re-posting must not hold the flush back.
          for (std::size_t i = 0; i < kMaxHandlersPerRound && io_context_.poll_one() != 0; ++i) {
          }
          flush();
        }
        // stop(): the handlers of the sessions it cut are ready; run them so that
        // every session ends and is freed here, not with the io_context.
        io_context_.restart();
        io_context_.poll();
        return;
      } catch (const std::exception& e) {
        // A handler threw: log and keep serving the other connections.
        context_.log.error("worker {}: unhandled exception: {}", index_, e.what());
      }
    }
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  boost::asio::post(io_context_, [this] {
    sweep_timer_.cancel();
    for (auto* session : std::vector<WebSocketConnection*>(sessions_.begin(), sessions_.end())) {
      session->terminate();
    }
    io_context_.stop();
  });
  work_.reset();
  thread_.join();
}

void Worker::request_flush(std::shared_ptr<WebSocketConnection> session) {
  flush_list_.push_back(std::move(session));
}

void Worker::flush() {
  // A session's flush may ask for another (the slow-consumer notice, or more queued
  // behind a write that completed at once): that one waits for the next round, which
  // then does not block (start()).
  flushing_.swap(flush_list_);
  for (auto& session : flushing_) session->flush();
  flushing_.clear();
  if (metrics_.sample_from != std::chrono::steady_clock::time_point{}) {
    metrics_.publish_to_write.observe(std::chrono::steady_clock::now() - metrics_.sample_from);
    metrics_.sample_from = {};
  }
}

std::size_t Worker::queued_bytes() const {
  std::size_t bytes = 0;
  for (const auto* session : sessions_) bytes += session->queued_bytes();
  return bytes;
}

void Worker::close_all_sessions() {
  boost::asio::post(io_context_, [this] {
    for (auto* session : std::vector<WebSocketConnection*>(sessions_.begin(), sessions_.end())) {
      session->shut_down();
    }
  });
}

void Worker::schedule_sweep() {
  sweep_timer_.expires_after(sweep_period_);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    sweep();
    schedule_sweep();
  });
}

void Worker::sweep() {
  const auto now = std::chrono::steady_clock::now();
  const auto wall = std::chrono::system_clock::now();
  // A copy: a tick may end a session, which detaches it from sessions_.
  for (auto* session : std::vector<WebSocketConnection*>(sessions_.begin(), sessions_.end())) {
    session->on_tick(now, wall);
  }
  // The first worker also runs the history's housekeeping once a second (standalone:
  // reads and appends trim the topics they touch; this frees those no one touches).
  auto* history = context_.node.history();
  auto* documents = context_.node.documents();
  if (index_ == 0 && now - last_history_sweep_ >= std::chrono::seconds(1)) {
    last_history_sweep_ = now;
    if (history != nullptr) history->sweep();
    if (documents != nullptr) documents->sweep();
  }
}

}  // namespace natsync
