#pragma once
// One outbound WebSocket message, framed once (RFC 6455 §5.2). A server's frames are
// never masked, so the same bytes — header and payload — go to every recipient, and a
// connection's queued frames can leave in one gather write (see GatedSocket).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace natsync {

class WireFrame {
 public:
  enum class Opcode : std::uint8_t { text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xa };
  // The longest header: 2 bytes plus a 64-bit length.
  static constexpr std::size_t kMaxHeader = 10;

  // A frame holding `payload` (copied).
  WireFrame(Opcode opcode, std::string_view payload);
  // A frame around `reserved`, whose first kMaxHeader bytes are room for the header and
  // the rest is the payload (no copy: the encoders build their text this way).
  struct HeaderRoom {};
  static constexpr HeaderRoom header_room{};
  WireFrame(Opcode opcode, HeaderRoom, std::string&& reserved);
  // Bytes that go on the wire as they are, not a WebSocket frame: the HTTP response
  // that opens a connection, queued in front of its first frames.
  struct Verbatim {};
  static constexpr Verbatim verbatim{};
  WireFrame(Verbatim, std::string_view bytes);

  std::string_view payload() const { return std::string_view(storage_).substr(kMaxHeader); }
  // Header and payload: what goes on the wire.
  std::string_view bytes() const { return std::string_view(storage_).substr(offset_); }
  std::size_t size() const { return storage_.size() - offset_; }
  // Bytes that go out as they are (the opening handshake's reply), not a frame.
  bool is_verbatim() const { return offset_ == kMaxHeader; }
  // The frame's opcode; meaningless for a verbatim one.
  Opcode opcode() const { return static_cast<Opcode>(static_cast<unsigned char>(storage_[offset_]) & 0x0fU); }

 private:
  void write_header(Opcode opcode);

  std::string storage_;
  std::uint8_t offset_ = 0;  // where the header starts in storage_
};

using Frame = std::shared_ptr<const WireFrame>;

inline Frame make_text_frame(std::string_view text) {
  return std::make_shared<const WireFrame>(WireFrame::Opcode::text, text);
}

// A close frame (RFC 6455 §5.5.1): the code, then `reason` cut to the 123 bytes a control
// frame has room for (callers pass ASCII).
Frame make_close_frame(unsigned short code, std::string_view reason);

}  // namespace natsync
