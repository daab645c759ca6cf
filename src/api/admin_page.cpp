#include "api/admin_page.hpp"

#include <algorithm>

namespace natsync {

namespace http = boost::beast::http;

bool is_admin_path(std::string_view path) { return path == "/admin" || path.starts_with("/admin/"); }

HttpResponse serve_admin_file(const HttpRequest& request, std::string_view path) {
  const auto version = request.version();
  const bool keep_alive = request.keep_alive();
  if (path == "/admin" || path == "/admin/") path = "/admin/index.html";
  const auto files = admin_files();
  const auto file =
      std::find_if(files.begin(), files.end(), [path](const EmbeddedFile& f) { return f.path == path; });
  if (file == files.end()) {
    return make_error_response(http::status::not_found, "not_found", "no such file of the admin page",
                               version, keep_alive);
  }
  HttpResponse response{http::status::ok, version};
  response.set(http::field::content_type, file->content_type);
  response.set(http::field::cache_control, "no-cache");
  // Only its own scripts, styles and requests; never in a frame; types as declared.
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
               "form-action 'self'");
  response.set("X-Frame-Options", "DENY");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.keep_alive(keep_alive);
  if (request.method() == http::verb::head) {
    response.content_length(file->body.size());
  } else {
    response.body() = std::string(file->body);
    response.prepare_payload();
  }
  return response;
}

}  // namespace natsync
