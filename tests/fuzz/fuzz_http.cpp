// libFuzzer target: the HTTP request path without sockets: bytes through Beast's request
// parser with the server's limits, then RestApi (publish, broadcast, status, CORS, API
// key or admin token) into a broker that drops everything.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>

#include "api/rest_api.hpp"

namespace {

struct DroppingBroker final : natsync::Broker {
  bool publish(natsync::PublicationPtr) override { return true; }
  void interest_gained(natsync::Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  void interest_lost(natsync::Channel, const std::string&) override {}
  void when_ready(natsync::Channel, const std::string&, ReadyFn on_ready) override { on_ready(); }
  natsync::BrokerStatus status() const override { return {"memory", true, "fuzz", 1, 0, 0}; }
};

natsync::Config make_config() {
  natsync::Config config;
  config.api_key = "fuzz-api-key";
  config.jwt_secret = "fuzz-secret-0123456789abcdef";
  config.max_topic_length = 64;
  return config;
}

struct Server {
  natsync::Config config = make_config();
  DroppingBroker broker;
  natsync::ConnectionRegistry registry;
  natsync::Node node{broker, registry};
  natsync::Authenticator auth{config};
  natsync::OriginPolicy origins{{"https://app.example"}};
  natsync::RestApi api{node, auth, origins};
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
    server.api.handle(request.get(), server.parser, [](const natsync::HttpResponse&) {});
  return 0;
}
