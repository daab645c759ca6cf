#include "api/static_files.hpp"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/url/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace natsync {

namespace http = boost::beast::http;

namespace {

// Larger files are not read into memory per request (404: this is no file server).
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{16} * 1024 * 1024;

struct Extension {
  std::string_view extension;
  const char* type;
};
constexpr Extension kTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".wasm", "application/wasm"},
};

// The request's path as a path below the root, or nullopt when a segment could reach
// outside it or name a hidden file. Segments are percent-decoded first, so `%2e%2e`
// is `..` and `%2f` a `/` inside a segment (refused).
std::optional<std::filesystem::path> relative_path(std::string_view target, bool& directory) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  std::filesystem::path relative;
  for (const auto& segment : url->segments()) {
    if (segment.empty()) continue;
    if (segment.front() == '.' || segment.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
      return std::nullopt;
    }
    relative /= segment;
  }
  directory = relative.empty() || url->encoded_path().ends_with('/');
  return relative;
}

bool inside(const std::filesystem::path& path, const std::filesystem::path& root) {
  const auto [root_end, unused] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

HttpResponse not_found(const HttpRequest& request) {
  return make_error_response(http::status::not_found, "not_found", "no such file", request.version(),
                             request.keep_alive());
}

}  // namespace

StaticFiles::StaticFiles(const std::filesystem::path& root) : root_(std::filesystem::canonical(root)) {}

const char* StaticFiles::content_type(const std::filesystem::path& file) {
  const auto extension = file.extension().string();
  for (const auto& known : kTypes) {
    if (known.extension == extension) return known.type;
  }
  return "application/octet-stream";
}

HttpResponse StaticFiles::serve(const HttpRequest& request) const {
  bool directory = false;
  auto relative = relative_path(request.target(), directory);
  if (!relative) return not_found(request);
  std::error_code ec;
  auto path = std::filesystem::canonical(root_ / *relative, ec);
  if (ec || !inside(path, root_)) return not_found(request);
  if (std::filesystem::is_directory(path, ec)) {
    if (!directory) {
      // A directory named without its slash: relative links in its index.html need it.
      HttpResponse response{http::status::moved_permanently, request.version()};
      const auto target = std::string(request.target());
      const auto query = target.find('?');
      auto location = target.substr(0, query) + "/";
      if (query != std::string::npos) location += target.substr(query);
      response.set(http::field::location, location);
      response.set(http::field::server, "natsync");
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      return response;
    }
    path = std::filesystem::canonical(path / "index.html", ec);
    if (ec || !inside(path, root_)) return not_found(request);
  } else if (directory && !relative->empty()) {
    return not_found(request);  // a file named as a directory (`/app.js/`)
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || !std::filesystem::is_regular_file(path, ec) || size > kMaxFileBytes) return not_found(request);

  HttpResponse response{http::status::ok, request.version()};
  response.set(http::field::server, "natsync");
  response.set(http::field::content_type, content_type(path));
  response.set("X-Content-Type-Options", "nosniff");
  response.set(http::field::cache_control, "no-cache");
  response.keep_alive(request.keep_alive());
  if (request.method() == http::verb::head) {
    response.content_length(size);  // HEAD: the size is known without reading the file
    return response;
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  if (!file) return not_found(request);
  response.body() = std::move(contents).str();
  response.prepare_payload();
  return response;
}

}  // namespace natsync
