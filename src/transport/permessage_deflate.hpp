#pragma once
// The permessage-deflate path (WS_COMPRESSION=on, RFC 7692): a connection that
// negotiates it is served through Beast's websocket::stream, which owns the compression
// state; its next layer is the connection's GatedSocket, so Beast's frames and ours
// never interleave. Only WebSocketConnection uses this, and only for such connections:
// a plain one pays a null pointer. Beast's websocket headers stay in this file's .cpp.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "protocol/wire_frame.hpp"
#include "transport/gated_socket.hpp"

namespace natsync {

class PermessageDeflate {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Done = std::function<void(boost::system::error_code)>;
  using WriteDone = std::function<void(boost::system::error_code, std::size_t)>;
  // `message_done`: the message being read is complete.
  using ReadDone = std::function<void(boost::system::error_code, bool message_done)>;

  // `on_control`: a ping or pong came (proof that the peer is alive).
  PermessageDeflate(GatedSocket socket, const Config& config, std::function<void()> on_control);
  ~PermessageDeflate();
  PermessageDeflate(const PermessageDeflate&) = delete;
  PermessageDeflate& operator=(const PermessageDeflate&) = delete;

  // Answers the upgrade; Beast's reply is then in socket().take_handshake_reply().
  void accept(const Request& request, Done done);
  // Reads (decompresses) into the tail of `message`, which grows with the message.
  void read(std::string& message, ReadDone done);
  bool got_text() const;
  // Whether a read's error is the end of the close handshake (not a failure).
  static bool closed_normally(const boost::system::error_code& ec);
  unsigned short close_code() const;
  // One queued frame through Beast, which compresses a data frame for this connection
  // (one message per write: the frames cannot be shared); the upgrade's reply as it is.
  void write(const Frame& frame, WriteDone done);
  // Beast's close frame: nothing may be written after it.
  void close(unsigned short code, std::string_view reason, Done done);
  bool is_open() const;
  GatedSocket& socket();

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  std::size_t tail_start_ = 0;  // Beast is reading into the message from here
};

}  // namespace natsync
