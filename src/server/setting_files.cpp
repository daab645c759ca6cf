#include "server/setting_files.hpp"

#include <exception>
#include <fstream>
#include <sstream>

#include "auth/jwt_verifier.hpp"
#include "tls/tls_context.hpp"

namespace natsync {

namespace {

constexpr std::size_t kMaxPublicKeyBytes = std::size_t{64} * 1024;

std::string read_public_key(Config& config) {
  std::ifstream file(config.jwt_public_key_file);
  std::stringstream contents;
  contents << file.rdbuf();
  if (!file || contents.str().empty()) {
    return "JWT_PUBLIC_KEY_FILE '" + config.jwt_public_key_file + "' cannot be read";
  }
  if (contents.str().size() > kMaxPublicKeyBytes) return "JWT_PUBLIC_KEY_FILE is larger than 64 KiB";
  std::string error;
  if (public_key_algorithm(contents.str(), error).empty()) {
    return "JWT_PUBLIC_KEY_FILE '" + config.jwt_public_key_file + "': " + error;
  }
  config.jwt_public_key = contents.str();
  return {};
}

}  // namespace

std::string load_setting_files(Config& config) {
  if (!config.jwt_public_key_file.empty() && config.jwt_public_key.empty()) {
    if (auto error = read_public_key(config); !error.empty()) return error;
  }
  if (!config.tls_cert_file.empty()) {
    try {
      TlsContext check(config.tls_cert_file, config.tls_key_file);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  return {};
}

}  // namespace natsync
