#pragma once
// The server's side of the WebSocket opening handshake (RFC 6455 §4.2) for a request
// that HttpSession has read: whether it is a valid upgrade, and the 101 answer.
// Connections that negotiate permessage-deflate are accepted by Beast instead (it
// owns the extension's negotiation and state); see WebSocketConnection::run and PermessageDeflate.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <variant>

namespace natsync {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct HandshakeRefusal {
  boost::beast::http::status status = boost::beast::http::status::bad_request;
  std::string message;
};

// For a valid upgrade request (Sec-WebSocket-Version 13; what Beast's is_upgrade checks:
// GET, Connection: upgrade, Upgrade: websocket; HTTP/1.1, Host, a Sec-WebSocket-Key), its
// Sec-WebSocket-Accept value; otherwise why not (426 Upgrade Required for another
// protocol version, 400 for the rest).
std::variant<std::string, HandshakeRefusal> check_upgrade(const UpgradeRequest& request);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string websocket_accept_key(std::string_view key);

// The 101 Switching Protocols response that opens the connection.
std::string switching_protocols(std::string_view accept_key);

// Whether the client offers permessage-deflate (RFC 7692).
bool offers_permessage_deflate(const UpgradeRequest& request);

}  // namespace natsync
