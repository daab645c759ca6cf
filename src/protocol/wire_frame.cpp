#include "protocol/wire_frame.hpp"

namespace natsync {

namespace {
// `bytes` with kMaxHeader bytes of room in front.
std::string with_header_room(std::string_view bytes) {
  std::string out;
  out.reserve(WireFrame::kMaxHeader + bytes.size());
  out.append(WireFrame::kMaxHeader, '\0').append(bytes);
  return out;
}
}  // namespace

WireFrame::WireFrame(Opcode opcode, std::string_view payload)
    : WireFrame(opcode, header_room, with_header_room(payload)) {}

WireFrame::WireFrame(Opcode opcode, HeaderRoom /*tag*/, std::string&& reserved)
    : storage_(std::move(reserved)) {
  if (storage_.size() < kMaxHeader) storage_.insert(0, kMaxHeader - storage_.size(), '\0');
  write_header(opcode);
}

WireFrame::WireFrame(Verbatim /*tag*/, std::string_view bytes)
    : storage_(with_header_room(bytes)), offset_(kMaxHeader) {}

Frame make_close_frame(unsigned short code, std::string_view reason) {
  constexpr std::size_t kMaxReason = 123;  // a control frame's payload is at most 125 bytes
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8U));
  payload.push_back(static_cast<char>(code & 0xffU));
  payload.append(reason.substr(0, kMaxReason));
  return std::make_shared<const WireFrame>(WireFrame::Opcode::close, payload);
}

void WireFrame::write_header(Opcode opcode) {
  const std::uint64_t length = storage_.size() - kMaxHeader;
  std::size_t header = 2;
  if (length >= 126) header = length <= 0xffff ? 4 : 10;
  offset_ = static_cast<std::uint8_t>(kMaxHeader - header);
  auto* out = reinterpret_cast<unsigned char*>(storage_.data()) + offset_;
  out[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(opcode));  // FIN, no RSV bits
  if (header == 2) {
    out[1] = static_cast<unsigned char>(length);  // unmasked
  } else if (header == 4) {
    out[1] = 126;
    out[2] = static_cast<unsigned char>(length >> 8);
    out[3] = static_cast<unsigned char>(length & 0xff);
  } else {
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>((length >> (56 - 8 * i)) & 0xff);
  }
}

}  // namespace natsync
