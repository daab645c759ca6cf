#pragma once
// The server's TLS identity (TLS_CERT_FILE / TLS_KEY_FILE) as the OpenSSL context new
// connections start from. reload() reads the files again, so a renewed certificate is
// served without a restart (SIGHUP); connections already open keep the context they
// started with (each SSL object holds a reference to its SSL_CTX).
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

namespace natsync {

class TlsContext {
 public:
  // Loads the certificate chain and the private key. Throws std::runtime_error with one
  // line naming the file and what is wrong with it.
  TlsContext(std::string cert_file, std::string key_file);

  // The context for a connection that starts now. Thread-safe.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Reads both files again and serves them to new connections. On failure throws as the
  // constructor does, and the current context stays. Thread-safe.
  void reload();

  const std::string& cert_file() const { return cert_file_; }

 private:
  static std::shared_ptr<boost::asio::ssl::context> load(const std::string& cert_file,
                                                         const std::string& key_file);

  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace natsync
