#pragma once
// The settings that name files: read and checked where the server is assembled, not by
// load_config, which only parses and validates values (config/ depends on nothing
// above it). The `natsync` binary exits 2 with the one line this returns.
#include <string>

#include "config/config.hpp"

namespace natsync {

// Reads JWT_PUBLIC_KEY_FILE into config.jwt_public_key (when set and not read yet) and
// checks that TLS_CERT_FILE and TLS_KEY_FILE make a usable TLS context. Empty when all
// is well, else one line that names the setting and the file.
// With DOCUMENT_TOPICS and DOCUMENT_STORE=sqlite also that DATA_DIR exists (it is
// created) and holds a document store that opens; with STATIC_DIR that it is a directory.
std::string load_setting_files(Config& config);

// DATA_DIR/documents.db
std::string document_database_path(const Config& config);

}  // namespace natsync
