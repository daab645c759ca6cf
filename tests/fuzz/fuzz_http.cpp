// libFuzzer target: the HTTP request path without sockets: bytes through Beast's request
// parser with the server's limits, then RestApi (publish, broadcast, status, CORS, API
// key or admin token) into a broker that drops everything, and STATIC_DIR's files: a
// response that carries the text of a file outside the directory aborts (the oracle of
// every path trick the fuzzer finds).
#include <unistd.h>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/rest_api.hpp"

namespace {

struct DroppingBroker final : natsync::Broker {
  bool publish(natsync::PublicationPtr) override { return true; }
  void interest_gained(natsync::Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  void interest_lost(natsync::Channel, const std::string&) override {}
  void when_ready(natsync::Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  natsync::BrokerStatus status() const override { return {"memory", true, "fuzz", 1, 0, 0, 0, 0, {}}; }
  void on_node_message(const std::string&, NodeMessageFn) override {}
  void send_to_nodes(const std::string&, std::string_view, std::function<void()> sent) override {
    if (sent) sent();
  }
};

natsync::Config make_config() {
  natsync::Config config;
  config.api_key = "fuzz-api-key";
  config.jwt_secret = "fuzz-secret-0123456789abcdef";
  config.max_topic_length = 64;
  return config;
}

constexpr std::string_view kOutsideMarker = "NOT-TO-BE-SERVED";

// <tmp>/natsync-fuzz-http-<pid>/{site/index.html, site/js/app.js, site/.hidden, outside.txt,
// site/link -> outside.txt}: the directory is served, nothing else may be.
std::filesystem::path make_static_dir() {
  const auto base =
      std::filesystem::temp_directory_path() / ("natsync-fuzz-http-" + std::to_string(::getpid()));
  std::filesystem::create_directories(base / "site/js");
  std::ofstream(base / "site/index.html") << "<h1>home</h1>";
  std::ofstream(base / "site/js/app.js") << "export {}";
  std::ofstream(base / "site/.hidden") << kOutsideMarker;
  std::ofstream(base / "outside.txt") << kOutsideMarker;
  std::error_code ec;
  std::filesystem::create_symlink(base / "outside.txt", base / "site/link", ec);
  return base / "site";
}

struct Server {
  natsync::Config config = make_config();
  DroppingBroker broker;
  natsync::ConnectionRegistry registry;
  natsync::Node node{broker, registry};
  natsync::Authenticator auth{config};
  natsync::OriginPolicy origins{{"https://app.example"}};
  natsync::RestApi api{node, auth, origins, make_static_dir()};
  natsync::MessageParser parser{config.max_topic_length};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Server server;
  boost::beast::http::request_parser<boost::beast::http::string_body> request;
  request.header_limit(std::uint32_t{8} * 1024);
  request.body_limit(std::uint64_t{1024} * 1024);
  request.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < size && !request.is_done()) {
    const auto n = request.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec || n == 0) break;
    used += n;
  }
  if (!ec && request.is_done())
    server.api.handle(request.get(), server.parser, [](const natsync::HttpResponse& response) {
      // Only a served file can leak one (JSON answers may echo the request's path or topic).
      const bool file = response[boost::beast::http::field::content_type] != "application/json";
      if (file && response.body().find(kOutsideMarker) != std::string::npos) std::abort();
    });
  return 0;
}
