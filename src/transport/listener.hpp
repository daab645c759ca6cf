#pragma once
// Accepts TCP connections and deals them round-robin to the workers: each accepted
// socket is created directly on its worker's io_context.
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

 private:
  void do_accept();
  // Decides when to accept again; the accepted socket was already handed on.
  void on_accept(boost::system::error_code ec);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::vector<Worker*> workers_;
  std::size_t next_worker_ = 0;
  spdlog::logger& log_;
  std::chrono::steady_clock::time_point last_limit_log_{};
};

}  // namespace natsync
