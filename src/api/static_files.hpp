#pragma once
// STATIC_DIR: the files of a web application served at `/` by the server that its
// pages connect to (the demo in examples/web/, an admin page). GET and HEAD only; a
// path names a regular file inside the directory or nothing: no listing, no dot-files,
// no `..`, no symbolic link that leads outside (checked on the resolved path), no
// encoded `/` or NUL. `/` and any `…/` serve index.html. Files are read on the
// worker's thread: this is for an application's few small files, not a CDN.
#include <filesystem>
#include <optional>

#include "api/rest_api.hpp"

namespace natsync {

class StaticFiles {
 public:
  // `root` must exist; it is resolved once (symbolic links included).
  explicit StaticFiles(const std::filesystem::path& root);

  // The response for a GET or HEAD of `request`'s path: the file, a redirect from a
  // directory to its `…/`, or 404.
  HttpResponse serve(const HttpRequest& request) const;

  // Content-Type for a file name (by extension; application/octet-stream if unknown).
  static const char* content_type(const std::filesystem::path& file);

 private:
  std::filesystem::path root_;
};

}  // namespace natsync
