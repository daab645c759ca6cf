#pragma once
// A WebSocket connection's TCP (or TLS) socket, shared by two writers: Beast
// (on a permessage-deflate connection: the handshake reply, compressed messages, pongs,
// the close frame) and the session, which writes its queued WireFrames — encoded and
// framed once for all recipients — in one gather write. Frames must never interleave on
// the wire, so one write runs at a time and each is written whole (a write_some here
// writes everything, which Beast's composed writes accept). A Beast write that comes
// while the session's runs waits here and goes first when the socket is free; the
// session, finding the socket busy, is told by on_socket_free().
//
// The handshake reply is not written at once: Beast's writes are collected until the
// session takes them (take_handshake_reply) and queues them in front of its first
// frames, so the 101 response and the connect message leave in one sendmsg.
//
// Why not Beast's async_write per message: each is one syscall per message per
// subscriber (5–10 µs of CPU here); a gather write of everything queued is one. And
// why its own sendmsg rather than asio::async_write: asio hands at most 16 buffers to
// one sendmsg on Linux (IOV_MAX is not visible to it), which split a 64-frame batch
// into four syscalls.
//
// Over TLS (TLS_CERT_FILE) every read and write goes through a TlsSocket instead, which
// copies a batch into records of up to 16 KiB, one SSL_write and one send each, so a
// batch of small frames still leaves in few syscalls. The handshake-reply collection
// and the gate itself are the same.
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <string>
#include <utility>

#include "tls/tls_socket.hpp"

namespace natsync {

class GatedSocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using next_layer_type = boost::asio::ip::tcp::socket;

  // The session's side of the gate.
  class Listener {
   public:
    // The socket is free again after the session found it busy.
    virtual void on_socket_free() = 0;

   protected:
    ~Listener() = default;
  };

  explicit GatedSocket(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  // A TLS connection, its handshake done (HttpSession's); socket_ stays unopened. (A
  // plain connection pays one null pointer for TLS.)
  explicit GatedSocket(std::unique_ptr<TlsSocket> tls) : socket_(tls->get_executor()), tls_(std::move(tls)) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  // The TCP socket, under TLS too.
  next_layer_type& next_layer() noexcept { return tls_ ? tls_->socket() : socket_; }

  void set_listener(Listener* listener) { listener_ = listener; }
  bool writing() const { return writing_; }

  // Bytes that arrived behind the upgrade request (a client that did not wait for the
  // 101): read before anything from the socket, so no frame is lost.
  void set_prefetched(std::string bytes) {
    if (!bytes.empty()) prefetched_ = std::make_unique<std::string>(std::move(bytes));
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (!prefetched_) {
      if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
      return socket_.async_read_some(buffers, std::forward<Token>(token));
    }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& into) {
          const auto n = take_prefetched(into);
          boost::asio::post(socket_.get_executor(), [handler = std::move(handler), n]() mutable {
            std::move(handler)(boost::system::error_code{}, n);
          });
        },
        token, buffers);
  }

  // Runs `handler(error_code)` once read_now() may have bytes (at once when some wait
  // here or in OpenSSL). Holds no buffer while it waits.
  template <class Handler>
  void async_wait_readable(Handler handler) {
    if (prefetched_ || (tls_ && tls_->has_pending())) {
      boost::asio::post(socket_.get_executor(), [handler = std::move(handler)]() mutable {
        std::move(handler)(boost::system::error_code{});
      });
      return;
    }
    next_layer().async_wait(boost::asio::socket_base::wait_read, std::move(handler));
  }

  // Reads what has arrived, without waiting: the bytes read, or 0 with `ec` set
  // (asio::error::would_block: nothing more yet; asio::error::eof: the peer is done).
  std::size_t read_now(boost::asio::mutable_buffer into, boost::system::error_code& ec) {
    ec = {};
    if (prefetched_) return take_prefetched(into);
    if (tls_) return tls_->read_now(into, ec);
    return receive(socket_, into, ec);
  }

  // Ends the handshake: what Beast wrote so far (its 101 or error response), to be sent
  // by the caller; from now on Beast's writes go to the socket.
  std::string take_handshake_reply() {
    collecting_ = false;
    return std::move(collected_);
  }

  // Beast's writes: collected during the handshake, then whole, or parked until the
  // session's write is done.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& bytes) {
          if (collecting_) {
            const auto before = collected_.size();
            for (auto it = boost::asio::buffer_sequence_begin(bytes);
                 it != boost::asio::buffer_sequence_end(bytes); ++it) {
              const boost::asio::const_buffer buffer(*it);
              collected_.append(static_cast<const char*>(buffer.data()), buffer.size());
            }
            writing_ = true;
            complete(std::move(handler), {}, collected_.size() - before);
            return;
          }
          if (writing_) {
            parked_ =
                std::make_unique<ParkedWrite<ConstBuffers, decltype(handler)>>(bytes, std::move(handler));
          } else {
            write(bytes, std::move(handler));
          }
        },
        token, buffers);
  }

  // The session's writes, whole, with as few sendmsg calls as the socket allows; the
  // caller checks writing() first. `buffers` must stay valid until the handler runs.
  // Unlike an asio operation, the handler runs inside this call when the socket took
  // everything at once (the common case): a post per write was measurable at a
  // million writes a second. The session is written for that (see on_write).
  template <class ConstBuffers, class Handler>
  void async_write(const ConstBuffers& buffers, Handler handler) {
    if (tls_) return write(buffers, std::move(handler));
    writing_ = true;
    send(buffers, 0, std::move(handler));
  }

  // Ends the TCP connection after the close frame: a server shuts its sending side
  // (the peer sees the end at once), then reads and drops whatever the peer still sends
  // until it closes too — at most kMaxDrain bytes; a silent peer is cut by the session's
  // WS_PONG_WAIT — and only then closes, so the peer is never reset before it has read
  // the close frame.
  // Over TLS a close_notify goes first; the TCP teardown then drains what the peer still
  // sends (a too-big message) as it does without TLS, so the peer reads both.
  template <class Handler>
  void async_teardown(boost::beast::role_type role, Handler handler) {
    if (tls_) {
      tls_->async_shutdown([this, role, handler = std::move(handler)](boost::system::error_code) mutable {
        tcp_teardown(role, std::move(handler));
      });
      return;
    }
    tcp_teardown(role, std::move(handler));
  }

 private:
  class Parked {
   public:
    virtual ~Parked() = default;
    virtual void start(GatedSocket& socket) = 0;
  };

  template <class ConstBuffers, class Handler>
  class ParkedWrite final : public Parked {
   public:
    ParkedWrite(const ConstBuffers& buffers, Handler handler)
        : buffers_(buffers), handler_(std::move(handler)) {}
    void start(GatedSocket& socket) override { socket.write(buffers_, std::move(handler_)); }

   private:
    ConstBuffers buffers_;
    Handler handler_;
  };

  template <class ConstBuffers, class Handler>
  void write(const ConstBuffers& buffers, Handler handler) {
    writing_ = true;
    auto done = [this, handler = std::move(handler)](boost::system::error_code ec, std::size_t n) mutable {
      finish(std::move(handler), ec, n);
    };
    if (tls_) {
      boost::asio::async_write(*tls_, buffers, std::move(done));
    } else {
      boost::asio::async_write(socket_, buffers, std::move(done));
    }
  }

  template <class Handler>
  void tcp_teardown(boost::beast::role_type role, Handler handler) {
    boost::system::error_code ec;
    if (role == boost::beast::role_type::server)
      next_layer().shutdown(boost::asio::socket_base::shutdown_send, ec);
    drain(0, std::move(handler));
  }

  // Sends what is left of `buffers` after `done` bytes; waits for the socket when it
  // is full.
  template <class ConstBuffers, class Handler>
  void send(const ConstBuffers& buffers, std::size_t done, Handler handler) {
    for (;;) {
      std::array<iovec, kMaxIov> iov{};
      std::size_t count = 0;
      std::size_t wanted = 0;
      std::size_t skip = done;
      auto it = boost::asio::buffer_sequence_begin(buffers);
      const auto end = boost::asio::buffer_sequence_end(buffers);
      for (; it != end && count < kMaxIov; ++it) {
        const boost::asio::const_buffer buffer(*it);
        if (skip >= buffer.size()) {
          skip -= buffer.size();
          continue;
        }
        iov[count].iov_base = const_cast<char*>(static_cast<const char*>(buffer.data()) + skip);
        iov[count].iov_len = buffer.size() - skip;
        wanted += iov[count++].iov_len;
        skip = 0;
      }
      if (count == 0) return finish(std::move(handler), {}, done);
      msghdr message{};
      message.msg_iov = iov.data();
      message.msg_iovlen = count;
      const auto sent = ::sendmsg(socket_.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          return finish(std::move(handler),
                        boost::system::error_code(errno, boost::system::system_category()), done);
        }
      } else {
        done += static_cast<std::size_t>(sent);
        if (static_cast<std::size_t>(sent) == wanted && it == end)
          return finish(std::move(handler), {}, done);
        if (static_cast<std::size_t>(sent) == wanted) continue;  // more than kMaxIov buffers
      }
      // The socket is full: wait until it takes more.
      socket_.async_wait(
          boost::asio::socket_base::wait_write,
          [this, buffers, done, handler = std::move(handler)](boost::system::error_code ec) mutable {
            if (ec) return finish(std::move(handler), ec, done);
            send(buffers, done, std::move(handler));
          });
      return;
    }
  }

  template <class Handler>
  void drain(std::size_t drained, Handler handler) {
    for (;;) {
      std::array<char, 4096> sink;  // NOLINT(cppcoreguidelines-pro-type-member-init): written by recv
      boost::system::error_code received;
      const auto got = receive(next_layer(), boost::asio::buffer(sink), received);
      if (!received && (drained += got) < kMaxDrain) continue;
      if (received == boost::asio::error::would_block) {
        next_layer().async_wait(
            boost::asio::socket_base::wait_read,
            [this, drained, handler = std::move(handler)](boost::system::error_code ec) mutable {
              if (ec) return close_then(std::move(handler), ec);
              drain(drained, std::move(handler));
            });
        return;
      }
      return close_then(std::move(handler), {});  // the peer's end, an error, or enough
    }
  }

  // Copies what set_prefetched() left into `into`: the bytes copied.
  template <class MutableBuffers>
  std::size_t take_prefetched(const MutableBuffers& into) {
    const auto n = boost::asio::buffer_copy(into, boost::asio::buffer(*prefetched_));
    prefetched_->erase(0, n);
    if (prefetched_->empty()) prefetched_.reset();
    return n;
  }

  // One non-blocking recv on `socket`: the bytes read, or 0 with `ec` set
  // (asio::error::would_block, asio::error::eof, or the system's error).
  static std::size_t receive(boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer into,
                             boost::system::error_code& ec) {
    for (;;) {
      const auto got = ::recv(socket.native_handle(), into.data(), into.size(), MSG_DONTWAIT);
      if (got > 0) return static_cast<std::size_t>(got);
      if (got == 0) {
        ec = boost::asio::error::eof;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ec = boost::asio::error::would_block;
      } else {
        ec = boost::system::error_code(errno, boost::system::system_category());
      }
      return 0;
    }
  }

  template <class Handler>
  void close_then(Handler handler, boost::system::error_code ec) {
    boost::system::error_code ignored;
    next_layer().close(ignored);
    boost::asio::post(socket_.get_executor(), [handler = std::move(handler), ec]() mutable { handler(ec); });
  }

  // Completes one of Beast's writes from its initiating call: through the executor, as
  // asio's own operations do (Beast's composed operations rely on it).
  template <class Handler>
  void complete(Handler handler, boost::system::error_code ec, std::size_t n) {
    boost::asio::post(socket_.get_executor(), [this, handler = std::move(handler), ec, n]() mutable {
      finish(std::move(handler), ec, n);
    });
  }

  template <class Handler>
  void finish(Handler handler, boost::system::error_code ec, std::size_t n) {
    writing_ = false;
    // A parked Beast write (a control frame) goes before the session's next.
    if (auto parked = std::move(parked_)) parked->start(*this);
    std::move(handler)(ec, n);
    if (!writing_ && listener_ != nullptr) listener_->on_socket_free();
  }

  static constexpr std::size_t kMaxIov = 256;  // Linux takes up to 1024 (UIO_MAXIOV)
  // Most a teardown reads and drops before it closes anyway.
  static constexpr std::size_t kMaxDrain = std::size_t{64} << 20;

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsSocket> tls_;  // set: a TLS connection, which every read and write goes through
  std::unique_ptr<Parked> parked_;
  std::unique_ptr<std::string> prefetched_;  // see set_prefetched
  Listener* listener_ = nullptr;
  std::string collected_;  // Beast's handshake reply, until taken
  bool collecting_ = true;
  bool writing_ = false;
};

// Beast's close handshake, and a connection it fails, end with a teardown of the layer
// below: ours (GatedSocket::async_teardown), not Beast's TCP one, which closes after one
// read and so resets a peer still sending (a too-big message), losing the close frame.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, GatedSocket& socket, TeardownHandler&& handler) {
  socket.async_teardown(role, std::forward<TeardownHandler>(handler));
}

inline void teardown(boost::beast::role_type role, GatedSocket& socket, boost::system::error_code& ec) {
  boost::beast::websocket::teardown(role, socket.next_layer(), ec);
}

}  // namespace natsync
