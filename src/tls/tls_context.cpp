#include "tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <utility>

namespace natsync {

namespace ssl = boost::asio::ssl;

namespace {

// OpenSSL's reason for the last failure ("no start line", "key values mismatch"), or
// asio's message when OpenSSL left none.
std::string openssl_reason(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return reason;
  }
  return ec.message();
}

}  // namespace

TlsContext::TlsContext(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      current_(load(cert_file_, key_file_)) {}

std::shared_ptr<ssl::context> TlsContext::current() const {
  const std::lock_guard lock(mutex_);
  return current_;
}

void TlsContext::reload() {
  auto fresh = load(cert_file_, key_file_);
  const std::lock_guard lock(mutex_);
  current_ = std::move(fresh);
}

std::shared_ptr<ssl::context> TlsContext::load(const std::string& cert_file, const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto* native = context->native_handle();
  // TLS 1.2 and 1.3 only; OpenSSL's default ciphers for them (no export, RC4 or CBC-SHA1
  // suites at Debian's default security level 2).
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // No client-initiated renegotiation (a CPU exhaustion vector) and no TLS compression
  // (CRIME).
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle TLS connection gives its OpenSSL record buffers back (~34 KiB).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  boost::system::error_code ec;
  ERR_clear_error();
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw std::runtime_error("TLS_CERT_FILE '" + cert_file +
                             "': cannot load a PEM certificate chain: " + openssl_reason(ec));
  }
  ERR_clear_error();
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("TLS_KEY_FILE '" + key_file +
                             "': cannot load a PEM private key for TLS_CERT_FILE: " + openssl_reason(ec));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("TLS_KEY_FILE '" + key_file +
                             "' does not belong to the certificate in TLS_CERT_FILE");
  }
  ERR_clear_error();
  return context;
}

}  // namespace natsync
