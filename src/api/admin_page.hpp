#pragma once
// The admin page (ADMIN_UI=on): the files of admin/, compiled into the binary by the build
// (cmake/embed_files.cmake), served at /admin. The page is static and public; what it shows
// comes from the API with the key or admin token the operator types into it
// (docs/operations.md).
#include <optional>
#include <span>
#include <string_view>

#include "api/rest_api.hpp"

namespace natsync {

struct EmbeddedFile {
  std::string_view path;  // /admin/index.html
  std::string_view content_type;
  std::string_view body;
};

// Generated: every file of admin/.
std::span<const EmbeddedFile> admin_files();

// Whether `path` is the admin page's (/admin, /admin/…).
bool is_admin_path(std::string_view path);

// The answer to a GET or HEAD of an admin path: the file (/admin and /admin/ are
// index.html) with headers that keep it from being framed or sniffed, or 404.
HttpResponse serve_admin_file(const HttpRequest& request, std::string_view path);

}  // namespace natsync
