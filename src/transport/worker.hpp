#pragma once
// One I/O thread with its own io_context. Each connection lives on exactly one
// worker for its whole life, so its handlers never run concurrently and need no
// strand, and the worker's LocalHub can be used without locks.
//
// A periodic sweep (one timer per worker, not one per connection) drives the
// keep-alive pings, the pong wait, the auth deadline, token expiry and the close
// deadline of every WebSocket session on the worker.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <thread>

#include "hub/local_hub.hpp"
#include "protocol/client_message.hpp"
#include "transport/server_context.hpp"

namespace natsync {

class WebSocketSession;

class Worker {
 public:
  Worker(unsigned index, const ServerContext& context);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Stops the loop and joins the thread; sessions still open are destroyed with
  // the io_context (which runs their cleanup).
  void stop();

  // Asks every WebSocket session to say goodbye and close (server shutdown).
  void close_all_sessions();

  unsigned index() const { return index_; }
  boost::asio::io_context& io_context() { return io_context_; }
  LocalHub& hub() { return hub_; }
  MessageParser& parser() { return parser_; }
  const ServerContext& context() const { return context_; }

  // Sessions enter the sweep when their WebSocket is open and leave when closed.
  void attach(WebSocketSession& session) { sessions_.insert(&session); }
  void detach(WebSocketSession& session) { sessions_.erase(&session); }

 private:
  void schedule_sweep();
  void sweep();

  unsigned index_;
  const ServerContext& context_;
  // Declared before io_context_: destroying the io_context destroys the sessions
  // whose handlers are still queued, and their cleanup uses these.
  LocalHub hub_;
  MessageParser parser_;
  boost::unordered_flat_set<WebSocketSession*> sessions_;
  boost::asio::io_context io_context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::steady_timer sweep_timer_;
  std::chrono::steady_clock::duration sweep_period_;
  std::thread thread_;
};

}  // namespace natsync
