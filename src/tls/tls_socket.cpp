#include "tls/tls_socket.hpp"

#include <openssl/err.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <stdexcept>

namespace natsync {

TlsSocket::TlsSocket(boost::asio::ip::tcp::socket socket, SSL_CTX* context)
    : socket_(std::move(socket)), ssl_(SSL_new(context)) {
  if (!ssl_) throw std::runtime_error("SSL_new failed");
  // OpenSSL works on the descriptor itself: it must never block the worker.
  socket_.non_blocking(true);
  SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle()));
  SSL_set_accept_state(ssl_.get());
  // Partial writes never happen (one record per write); the write buffer's address may
  // change between retries as long as its bytes do not; no record buffer while idle.
  SSL_set_mode(ssl_.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}

namespace {

// Clears what an earlier call left (errno, OpenSSL's error queue), so that step_for
// reads this call's failure only.
template <class Call>
int fresh(Call call) {
  ERR_clear_error();
  errno = 0;
  return call();
}

}  // namespace

TlsSocket::Step TlsSocket::handshake() {
  return step_for(fresh([&] { return SSL_do_handshake(ssl_.get()); }));
}

TlsSocket::Step TlsSocket::read(boost::asio::mutable_buffer into) {
  std::size_t got = 0;
  const int result = fresh([&] { return SSL_read_ex(ssl_.get(), into.data(), into.size(), &got); });
  return step_for(result, got);  // `got` read after the call
}

std::size_t TlsSocket::read_now(boost::asio::mutable_buffer into, boost::system::error_code& ec) {
  const Step step = read(into);
  switch (step.kind) {
    case Step::Kind::done: ec = {}; return step.bytes;
    case Step::Kind::failed: ec = step.error; return 0;
    case Step::Kind::want_read:
    case Step::Kind::want_write: break;  // (no renegotiation: a read never waits to write long)
  }
  ec = boost::asio::error::would_block;
  return 0;
}

TlsSocket::Step TlsSocket::write() {
  std::size_t sent = 0;
  const int result = fresh([&] { return SSL_write_ex(ssl_.get(), writing_.data(), writing_.size(), &sent); });
  return step_for(result, sent);
}

TlsSocket::Step TlsSocket::shutdown() {
  const int result = fresh([&] { return SSL_shutdown(ssl_.get()); });
  // 0: our close_notify is sent (the peer's not yet read); 1: both. Either is enough.
  return step_for(result == 0 ? 1 : result);
}

TlsSocket::Step TlsSocket::step_for(int result, std::size_t bytes) {
  if (result == 1) return {Step::Kind::done, bytes, {}};
  const int error = SSL_get_error(ssl_.get(), result);
  switch (error) {
    case SSL_ERROR_WANT_READ: return {Step::Kind::want_read, 0, {}};
    case SSL_ERROR_WANT_WRITE: return {Step::Kind::want_write, 0, {}};
    case SSL_ERROR_ZERO_RETURN: return {Step::Kind::failed, 0, boost::asio::error::eof};
    case SSL_ERROR_SYSCALL:
      if (errno != 0) return {Step::Kind::failed, 0, {errno, boost::system::system_category()}};
      return {Step::Kind::failed, 0, boost::asio::ssl::error::stream_truncated};
    default: break;
  }
  const auto code = ERR_get_error();
  ERR_clear_error();
  // OpenSSL 3 reports a TCP end without close_notify as an SSL error of its own.
  if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return {Step::Kind::failed, 0, boost::asio::ssl::error::stream_truncated};
  return {Step::Kind::failed, 0, {static_cast<int>(code), boost::asio::error::get_ssl_category()}};
}

void TlsSocket::release_write_buffer() {
  writing_.clear();
  // A connection keeps no write buffer while idle (one record is 16 KiB).
  if (writing_.capacity() > 1024) writing_.shrink_to_fit();
}

}  // namespace natsync
