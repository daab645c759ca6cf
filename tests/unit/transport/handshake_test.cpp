#include "transport/handshake.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>

using namespace natsync;
namespace http = boost::beast::http;

namespace {

UpgradeRequest valid_request() {
  UpgradeRequest request(http::verb::get, "/ws/sync", 11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::connection, "keep-alive, Upgrade");
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(http::field::sec_websocket_version, "13");
  return request;
}

http::status refusal_of(const UpgradeRequest& request) {
  const auto answer = check_upgrade(request);
  const auto* refusal = std::get_if<HandshakeRefusal>(&answer);
  return refusal == nullptr ? http::status::switching_protocols : refusal->status;
}

}  // namespace

TEST(Handshake, AcceptKeyIsTheOneOfRfc6455) {
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const auto answer = check_upgrade(valid_request());
  ASSERT_TRUE(std::holds_alternative<std::string>(answer));
  EXPECT_EQ(std::get<std::string>(answer), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(switching_protocols("K="),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            "Sec-WebSocket-Accept: K=\r\nServer: natsync\r\n\r\n");
}

TEST(Handshake, InvalidUpgradesAreRefused) {
  auto request = valid_request();
  request.method(http::verb::post);
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request = valid_request();
  request.version(10);
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request = valid_request();
  request.erase(http::field::host);
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request = valid_request();
  request.set(http::field::connection, "keep-alive");
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request = valid_request();
  request.set(http::field::upgrade, "h2c");
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request = valid_request();
  request.erase(http::field::sec_websocket_key);
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request.set(http::field::sec_websocket_key, std::string(2000, 'A'));
  EXPECT_EQ(refusal_of(request), http::status::bad_request);
  request = valid_request();
  request.set(http::field::sec_websocket_version, "8");
  EXPECT_EQ(refusal_of(request), http::status::upgrade_required);
  request.erase(http::field::sec_websocket_version);
  EXPECT_EQ(refusal_of(request), http::status::upgrade_required);
}

TEST(Handshake, PermessageDeflateOffers) {
  auto request = valid_request();
  EXPECT_FALSE(offers_permessage_deflate(request));
  request.set(http::field::sec_websocket_extensions, "x-webkit-deflate-frame");
  EXPECT_FALSE(offers_permessage_deflate(request));
  request.set(http::field::sec_websocket_extensions, "foo, permessage-deflate; client_max_window_bits");
  EXPECT_TRUE(offers_permessage_deflate(request));
  request.set(http::field::sec_websocket_extensions, "Permessage-Deflate");
  EXPECT_TRUE(offers_permessage_deflate(request));
}
