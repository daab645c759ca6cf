#include "transport/listener.hpp"

#include <fcntl.h>

#include <spdlog/logger.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>

#include <boost/asio/post.hpp>

#include "transport/http_session.hpp"
#include "transport/worker.hpp"

namespace natsync {

namespace {
// When even the spare descriptor cannot help, wait this long before accepting again
// instead of spinning on an accept that keeps failing.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr std::string_view kRefusal =
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
    "Content-Length: 66\r\nConnection: close\r\n\r\n"
    R"({"error":"server is at its connection limit","code":"server_full"})";
static_assert(kRefusal.size() - kRefusal.find("\r\n\r\n") - 4 == 66, "Content-Length must match the body");

constexpr int kMaxRefusalsPerWake = 256;

int open_spare() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
}  // namespace

Listener::Listener(boost::asio::io_context& io_context, const boost::asio::ip::tcp::endpoint& endpoint,
                   std::vector<Worker*> workers, spdlog::logger& log)
    : acceptor_(io_context), retry_timer_(io_context), workers_(std::move(workers)), log_(log) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(boost::asio::socket_base::max_listen_connections);
  spare_fd_ = open_spare();
}

Listener::~Listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
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
  acceptor_.async_accept(
      worker.io_context(), [self = shared_from_this(), &worker](boost::system::error_code ec,
                                                                boost::asio::ip::tcp::socket socket) {
        if (!ec) {
          // Frames are small and already batched per write: no Nagle delay.
          boost::system::error_code ignored;
          socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
          // The context of this instant: a reload (SIGHUP) serves later ones.
          const auto* tls = worker.context().tls;
          const auto tls_context = tls != nullptr ? tls->current() : nullptr;
          std::make_shared<HttpSession>(std::move(socket), worker, tls_context.get())->run();
        }
        self->on_accept(ec);
      });
}

bool Listener::refuse_waiting() {
  if (spare_fd_ < 0) spare_fd_ = open_spare();
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  spare_fd_ = -1;
  // The listening socket is non-blocking (Asio made it so): take every connection that
  // waits (a bounded number), answer and close each, until none is left.
  for (int i = 0; i < kMaxRefusalsPerWake; ++i) {
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    // Best effort: a full socket buffer at this point is the client's problem.
    (void)::send(fd, kRefusal.data(), kRefusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    ++refused_since_log_;
    workers_.front()->context().node.metrics().refuse(RefusalReason::open_files);
  }
  spare_fd_ = open_spare();
  return spare_fd_ >= 0;
}

void Listener::on_accept(boost::system::error_code ec) {
  if (!acceptor_.is_open() || ec == boost::asio::error::operation_aborted) return;
  // EMFILE (this process) or ENFILE (the whole system).
  const bool out_of_descriptors =
      ec.category() == boost::system::system_category() && (ec.value() == EMFILE || ec.value() == ENFILE);
  if (out_of_descriptors) {
    // accept() fails so whether or not a client waits: refuse those that do, then
    // sleep until the next one knocks (not a loop on the failing accept).
    const bool refused = refuse_waiting();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_limit_log_ > std::chrono::seconds(1)) {
      log_.warn(
          "accept: out of file descriptors ({}); refused {} connection(s) with 503 since the last warning",
          ec.message(), refused_since_log_);
      last_limit_log_ = now;
      refused_since_log_ = 0;
    }
    if (!refused) {
      // Not even the spare descriptor: try again shortly instead of spinning.
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
        if (!wait_ec) self->do_accept();
      });
      return;
    }
    acceptor_.async_wait(boost::asio::socket_base::wait_read,
                         [self = shared_from_this()](boost::system::error_code wait_ec) {
                           if (!wait_ec) self->do_accept();
                         });
    return;
  }
  if (ec) log_.debug("accept: {}", ec.message());
  do_accept();
}

}  // namespace natsync
