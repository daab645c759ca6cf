// STATIC_DIR against hostile paths: everything that could leave the directory, list
// it or reveal a hidden file is a 404; files come with their content type.
#include "api/static_files.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <filesystem>
#include <fstream>
#include <string>

using natsync::HttpRequest;
using natsync::StaticFiles;
namespace http = boost::beast::http;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("natsync-static-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    write(base_ / "site/index.html", "<h1>home</h1>");
    write(base_ / "site/app.js", "export const x = 1;");
    write(base_ / "site/style.css", "body{}");
    write(base_ / "site/sub/index.html", "sub");
    write(base_ / "site/.env", "SECRET=1");
    write(base_ / "site/.git/config", "[core]");
    write(base_ / "outside.txt", "outside");
    fs::create_symlink(base_ / "outside.txt", base_ / "site/link.txt");
    fs::create_directories(base_ / "site/empty");
    files_.emplace(base_ / "site");
  }
  void TearDown() override { fs::remove_all(base_); }

  http::response<http::string_body> get(const std::string& target, http::verb verb = http::verb::get) {
    HttpRequest request{verb, target, 11};
    return files_->serve(request);
  }

  fs::path base_;
  std::optional<StaticFiles> files_;
};

}  // namespace

TEST_F(StaticFilesTest, ServesFilesWithTheirContentType) {
  auto home = get("/");
  EXPECT_EQ(home.result(), http::status::ok);
  EXPECT_EQ(home.body(), "<h1>home</h1>");
  EXPECT_EQ(home[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(home["X-Content-Type-Options"], "nosniff");
  auto script = get("/app.js?v=3");
  EXPECT_EQ(script.body(), "export const x = 1;");
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/style.css")[http::field::content_type], "text/css; charset=utf-8");
  EXPECT_EQ(get("/sub/").body(), "sub");
  EXPECT_EQ(get("//sub//index.html").body(), "sub");
  EXPECT_EQ(get("/%61pp.js").body(), "export const x = 1;");  // percent-decoded
  auto head = get("/app.js", http::verb::head);
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
  EXPECT_EQ(head[http::field::content_length], "19");
  EXPECT_STREQ(StaticFiles::content_type("a.unknown"), "application/octet-stream");
}

TEST_F(StaticFilesTest, ADirectoryWithoutItsSlashIsRedirected) {
  auto response = get("/sub?x=1");
  EXPECT_EQ(response.result(), http::status::moved_permanently);
  EXPECT_EQ(response[http::field::location], "/sub/?x=1");
}

TEST_F(StaticFilesTest, NothingOutsideHiddenOrListedIsServed) {
  for (const char* target : {"/../outside.txt", "/%2e%2e/outside.txt", "/sub/..%2f..%2foutside.txt",
                             "/sub/%2e%2e/%2e%2e/outside.txt", "/..%5coutside.txt", "/.env", "/.git/config",
                             "/%2eenv", "/link.txt", "/empty/", "/nope.js", "/app.js%00.html", "/index.html/",
                             "relative", "/sub/../../outside.txt", "/%", "/%zz"}) {
    auto response = get(target);
    EXPECT_EQ(response.result(), http::status::not_found) << target;
    EXPECT_EQ(response.body().find("outside"), std::string::npos) << target;
    EXPECT_EQ(response.body().find("SECRET"), std::string::npos) << target;
  }
}
