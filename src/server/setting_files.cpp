#include "server/setting_files.hpp"

#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/jwt_verifier.hpp"
#include "config/config.hpp"
#include "documents/sqlite_document_store.hpp"
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

// DATA_DIR, created if missing, and the document store in it, opened once (so a
// directory it cannot write, or a file that is no SQLite database, stops the start).
std::string check_data_dir(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return "DATA_DIR '" + config.data_dir + "' cannot be created: " + ec.message();
  try {
    SqliteDocumentStore check(document_database_path(config));
  } catch (const std::exception& e) {
    return std::string("DATA_DIR '") + config.data_dir + "': " + e.what();
  }
  return {};
}

}  // namespace

std::string document_database_path(const Config& config) {
  return (std::filesystem::path(config.data_dir) / "documents.db").string();
}

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
  if (!config.static_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(config.static_dir, ec))
      return "STATIC_DIR '" + config.static_dir + "' is not a directory";
  }
  // With NATS_URL documents live in JetStream: no local store.
  if (!split_list(config.document_topics).empty() && config.document_store == "sqlite" &&
      config.nats_servers.empty()) {
    if (auto error = check_data_dir(config); !error.empty()) return error;
  }
  return {};
}

}  // namespace natsync
