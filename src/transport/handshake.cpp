#include "transport/handshake.hpp"

#include <openssl/evp.h>

#include <array>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace natsync {

namespace http = boost::beast::http;

namespace {
// A Sec-WebSocket-Key is base64 of 16 bytes: 24 characters.
constexpr std::size_t kKeySize = 24;
}  // namespace

std::variant<std::string, HandshakeRefusal> check_upgrade(const UpgradeRequest& request) {
  const auto refuse = [](std::string message) {
    return HandshakeRefusal{http::status::bad_request, std::move(message)};
  };
  if (request[http::field::sec_websocket_version] != "13") {
    return HandshakeRefusal{http::status::upgrade_required, "WebSocket version 13 (RFC 6455) only"};
  }
  // GET, HTTP/1.1 or later, Connection: upgrade, Upgrade: websocket.
  if (!boost::beast::websocket::is_upgrade(request) || request.version() != 11) {
    return refuse(
        "not a WebSocket upgrade: GET over HTTP/1.1 with 'Connection: upgrade' and 'Upgrade: websocket'");
  }
  if (request.find(http::field::host) == request.end()) return refuse("no Host header");
  const auto key = request[http::field::sec_websocket_key];
  if (key.empty()) return refuse("no Sec-WebSocket-Key");
  if (key.size() != kKeySize) return refuse("Sec-WebSocket-Key is not 16 bytes in base64");
  return websocket_accept_key({key.data(), key.size()});
}

std::string websocket_accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input.append(kGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr);
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> encoded{};
  const int length = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_size));
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(length)};
}

std::string switching_protocols(std::string_view accept_key) {
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out.append(accept_key);
  out.append("\r\nServer: natsync\r\n\r\n");
  return out;
}

bool offers_permessage_deflate(const UpgradeRequest& request) {
  // Sec-WebSocket-Extensions: a list of offers, each a name with parameters after ';'.
  auto [field, end] = request.equal_range(http::field::sec_websocket_extensions);
  for (; field != end; ++field) {
    for (const auto& offer : http::ext_list{field->value()}) {
      if (boost::beast::iequals(offer.first, "permessage-deflate")) return true;
    }
  }
  return false;
}

}  // namespace natsync
