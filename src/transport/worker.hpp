#pragma once
// One I/O thread with its own io_context. Each connection lives on exactly one
// worker for its whole life, so its handlers never run concurrently and need no
// strand, and the worker's LocalHub can be used without locks.
//
// A periodic sweep (one timer per worker, not one per connection) drives the
// keep-alive pings, the pong wait, the auth deadline, token expiry and the close
// deadline of every WebSocket connection on the worker.
#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "api/rest_api.hpp"
#include "core/server_context.hpp"
#include "hub/local_hub.hpp"
#include "protocol/client_message.hpp"
#include "protocol/wire_frame.hpp"
#include "session/worker_services.hpp"

namespace natsync {

class WebSocketConnection;

class Worker {
 public:
  // `rest` answers the HTTP requests that are not upgrades.
  Worker(unsigned index, const ServerContext& context, const RestApi& rest);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Cuts the sessions still open, lets their handlers finish, and joins the thread.
  void stop();

  // Asks every WebSocket session to say goodbye and close (server shutdown).
  void close_all_sessions();

  unsigned index() const { return index_; }
  boost::asio::io_context& io_context() { return io_context_; }
  LocalHub& hub() { return hub_; }
  MessageParser& parser() { return parser_; }
  // What this worker counts for GET /metrics; written only on its thread.
  WorkerMetrics& metrics() { return metrics_; }
  const WorkerMetrics& metrics() const { return metrics_; }
  // What the client sessions of this worker use of it.
  WorkerServices& session_services() { return services_; }
  const ServerContext& context() const { return context_; }
  const RestApi& rest() const { return rest_; }

  // Sessions enter the sweep when their WebSocket is open and leave when closed.
  void attach(WebSocketConnection& session) { sessions_.insert(&session); }
  void detach(WebSocketConnection& session) { sessions_.erase(&session); }
  // What this worker's open sessions have queued to send; on the worker's thread only.
  std::size_t queued_bytes() const;

  // Corking: `session` has queued frames; its flush() runs once the worker has run
  // every handler that is ready, so what they all queue for it leaves in one write.
  void request_flush(std::shared_ptr<WebSocketConnection> session);

  // The keep-alive ping, framed once for every session of the worker.
  const Frame& ping_frame() const { return ping_frame_; }

  // Where sessions read what their socket has, one at a time: a session reads only once
  // its socket is readable and parses the bytes before its handler returns, so no idle
  // connection holds a read buffer of its own.
  boost::asio::mutable_buffer read_buffer() { return boost::asio::buffer(read_buffer_); }

 private:
  void schedule_sweep();
  void sweep();
  void flush();

  unsigned index_;
  const ServerContext& context_;
  const RestApi& rest_;
  // Declared before io_context_: destroying the io_context destroys the sessions
  // whose handlers are still queued, and their cleanup uses these.
  LocalHub hub_;
  MessageParser parser_;
  WorkerMetrics metrics_;
  WorkerServices services_{context_, hub_, parser_, io_context_,
                           metrics_};  // io_context_: bound, not used, here
  boost::unordered_flat_set<WebSocketConnection*> sessions_;
  std::vector<std::shared_ptr<WebSocketConnection>> flush_list_;
  std::vector<std::shared_ptr<WebSocketConnection>> flushing_;  // flush_list_ being flushed
  Frame ping_frame_ = std::make_shared<const WireFrame>(WireFrame::Opcode::ping, "");
  std::vector<char> read_buffer_ = std::vector<char>(std::size_t{64} * 1024);
  boost::asio::io_context io_context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer sweep_timer_;
  std::chrono::steady_clock::duration sweep_period_;
  std::chrono::steady_clock::time_point last_history_sweep_{};
  std::thread thread_;
};

}  // namespace natsync
