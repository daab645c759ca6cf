#pragma once
// Accepts TCP connections and deals them round-robin to the workers: each accepted
// socket is created directly on its worker's io_context.
//
// At the open-files limit it refuses cleanly rather than leaving clients hanging in
// the backlog or spinning on a failing accept: it holds one spare descriptor, and when
// accept fails for lack of descriptors it gives the spare up, accepts the waiting
// connection, answers 503 with Retry-After, closes it and takes the spare back (the
// nginx/libev technique). A warning is logged at most once a second.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace spdlog {
class logger;
}

namespace natsync {

class Worker;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens at once; throws boost::system::system_error if it cannot.
  Listener(boost::asio::io_context& io_context, const boost::asio::ip::tcp::endpoint& endpoint,
           std::vector<Worker*> workers, spdlog::logger& log);

  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void run();
  void stop();  // thread-safe
  ~Listener();

 private:
  void do_accept();
  // Decides when to accept again; the accepted socket was already handed on.
  void on_accept(boost::system::error_code ec);
  // Out of descriptors: refuses the connections waiting in the backlog with a 503;
  // false when it had no spare descriptor to do it with.
  bool refuse_waiting();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::vector<Worker*> workers_;
  std::size_t next_worker_ = 0;
  spdlog::logger& log_;
  std::chrono::steady_clock::time_point last_limit_log_{};
  std::size_t refused_since_log_ = 0;
  int spare_fd_ = -1;  // given up for an instant to refuse a connection at the limit
};

}  // namespace natsync
