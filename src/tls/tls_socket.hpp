#pragma once
// A server-side TLS connection: OpenSSL working straight on the TCP socket's descriptor
// (non-blocking), driven by Asio's readiness waits. An Asio-style async stream, so
// Beast's HTTP and WebSocket code reads and writes through it.
//
// Why not asio::ssl::stream: it puts two 17 KiB buffers of its own and a BIO pair with
// two more in front of OpenSSL, ~70 KiB per connection whether it is busy or idle
// (measured: 72 KiB per idle wss connection). Here OpenSSL reads and writes the socket
// itself and, with SSL_MODE_RELEASE_BUFFERS, keeps no record buffer while idle; what a
// connection holds is its SSL object and, during a write, the bytes being written.
//
// One read and one write may be in progress at once (as on a socket); each completes
// through the executor, never inside the initiating call.
#include <openssl/ssl.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <utility>

namespace natsync {

class TlsSocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  // Takes `socket` over as the server side of a TLS connection with `context`'s
  // certificate (the SSL object holds a reference to it). Throws std::runtime_error if
  // OpenSSL cannot make the SSL object.
  TlsSocket(boost::asio::ip::tcp::socket socket, SSL_CTX* context);

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }

  // The TLS handshake. Handler: void(error_code).
  template <class Handler>
  void async_handshake(Handler handler) {
    run([this] { return handshake(); },
        [handler = std::move(handler)](boost::system::error_code ec, std::size_t) mutable { handler(ec); });
  }

  // Reads decrypted bytes into the first non-empty buffer. `asio::error::eof` once the
  // peer has sent close_notify.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& into) {
          boost::asio::mutable_buffer target;
          for (auto it = boost::asio::buffer_sequence_begin(into);
               it != boost::asio::buffer_sequence_end(into); ++it) {
            target = *it;
            if (target.size() > 0) break;
          }
          if (target.size() == 0) return complete(std::move(handler), {}, 0);
          auto attempt = [this, target] { return read(target); };
          // OpenSSL allocates its 16 KiB record buffer when SSL_read starts reading and
          // keeps it while the read waits: an idle connection would hold one. So unless
          // OpenSSL has bytes already, wait until the socket has some first.
          if (SSL_has_pending(ssl_.get()) == 1) return run(std::move(attempt), std::move(handler));
          wait(boost::asio::socket_base::wait_read, std::move(attempt), std::move(handler));
        },
        token, buffers);
  }

  // Whether OpenSSL holds decrypted bytes not read yet (then the socket may be silent
  // although read_now would return data).
  bool has_pending() const { return SSL_has_pending(ssl_.get()) == 1; }

  // Reads what is there without waiting: the bytes read, or 0 with `ec` set
  // (asio::error::would_block: nothing yet; eof after the peer's close_notify).
  std::size_t read_now(boost::asio::mutable_buffer into, boost::system::error_code& ec);

  // Writes up to one TLS record (16 KiB) from `buffers`, copied into one buffer first so
  // that many small buffers (a batch of frames) become one record and one send.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& from) {
          writing_.clear();
          for (auto it = boost::asio::buffer_sequence_begin(from);
               it != boost::asio::buffer_sequence_end(from) && writing_.size() < kMaxRecord; ++it) {
            const boost::asio::const_buffer buffer(*it);
            const auto take = std::min(buffer.size(), kMaxRecord - writing_.size());
            writing_.append(static_cast<const char*>(buffer.data()), take);
          }
          if (writing_.empty()) return complete(std::move(handler), {}, 0);
          run([this] { return write(); },
              [this, handler = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
                release_write_buffer();
                handler(ec, n);
              });
        },
        token, buffers);
  }

  // Sends close_notify (without waiting for the peer's: the caller closes the TCP
  // connection next). Handler: void(error_code).
  template <class Handler>
  void async_shutdown(Handler handler) {
    run([this] { return shutdown(); },
        [handler = std::move(handler)](boost::system::error_code ec, std::size_t) mutable { handler(ec); });
  }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  // What one OpenSSL call came to: done (bytes), wait for the socket, or failed.
  struct Step {
    enum class Kind { done, want_read, want_write, failed } kind;
    std::size_t bytes = 0;
    boost::system::error_code error;
  };

  Step handshake();
  Step read(boost::asio::mutable_buffer into);
  Step write();
  Step shutdown();
  // Classifies `result`, what an SSL_* call returned (1: done, with `bytes`), the call
  // made through fresh() so that errno and OpenSSL's error queue are its own.
  Step step_for(int result, std::size_t bytes = 0);
  void release_write_buffer();

  // Calls `attempt` until it is done or fails, waiting for the socket in between.
  template <class Attempt, class Handler>
  void run(Attempt attempt, Handler handler) {
    const Step step = attempt();
    switch (step.kind) {
      case Step::Kind::done: return complete(std::move(handler), {}, step.bytes);
      case Step::Kind::failed: return complete(std::move(handler), step.error, 0);
      case Step::Kind::want_read:
      case Step::Kind::want_write: break;
    }
    wait(step.kind == Step::Kind::want_read ? boost::asio::socket_base::wait_read
                                            : boost::asio::socket_base::wait_write,
         std::move(attempt), std::move(handler));
  }

  // Calls run(attempt) once the socket is ready for `what`.
  template <class Attempt, class Handler>
  void wait(boost::asio::socket_base::wait_type what, Attempt attempt, Handler handler) {
    socket_.async_wait(what, [this, attempt = std::move(attempt),
                              handler = std::move(handler)](boost::system::error_code ec) mutable {
      if (ec) return handler(ec, 0);
      run(std::move(attempt), std::move(handler));
    });
  }

  template <class Handler>
  void complete(Handler handler, boost::system::error_code ec, std::size_t n) {
    boost::asio::post(socket_.get_executor(),
                      [handler = std::move(handler), ec, n]() mutable { std::move(handler)(ec, n); });
  }

  static constexpr std::size_t kMaxRecord = std::size_t{16} * 1024;  // TLS's largest record payload

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::string writing_;  // the bytes of the write in progress (OpenSSL retries with them)
};

}  // namespace natsync
