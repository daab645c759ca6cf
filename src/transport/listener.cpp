#include "transport/listener.hpp"

#include <spdlog/logger.h>
#include <boost/asio/post.hpp>

#include "transport/http_session.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace {
// After running out of file descriptors, wait this long before accepting again
// instead of spinning on an accept that keeps failing.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
}  // namespace

Listener::Listener(boost::asio::io_context& io_context, const boost::asio::ip::tcp::endpoint& endpoint,
                   std::vector<Worker*> workers, spdlog::logger& log)
    : acceptor_(io_context), retry_timer_(io_context), workers_(std::move(workers)), log_(log) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(boost::asio::socket_base::max_listen_connections);
}

void Listener::run() { do_accept(); }

void Listener::stop() {
  boost::asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->retry_timer_.cancel();
  });
}

void Listener::do_accept() {
  Worker& worker = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  acceptor_.async_accept(worker.io_context(),
                         [self = shared_from_this(), &worker](boost::system::error_code ec,
                                                              boost::asio::ip::tcp::socket socket) {
                           if (!ec) {
                             // Frames are small and already batched per write: no Nagle delay.
                             boost::system::error_code ignored;
                             socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
                             std::make_shared<HttpSession>(std::move(socket), worker)->run();
                           }
                           self->on_accept(ec);
                         });
}

void Listener::on_accept(boost::system::error_code ec) {
  if (!acceptor_.is_open() || ec == boost::asio::error::operation_aborted) return;
  if (ec == boost::asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_limit_log_ > std::chrono::seconds(1)) {
      log_.warn("accept: out of file descriptors ({}); new connections wait until some close", ec.message());
      last_limit_log_ = now;
    }
    retry_timer_.expires_after(kAcceptRetryDelay);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }
  if (ec) log_.debug("accept: {}", ec.message());
  do_accept();
}

}  // namespace natsync
