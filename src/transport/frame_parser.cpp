#include "transport/frame_parser.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "protocol/error_code.hpp"

namespace natsync {

namespace {

constexpr unsigned char kFin = 0x80;
constexpr unsigned char kReservedBits = 0x70;
constexpr unsigned char kMasked = 0x80;
constexpr unsigned kContinuation = 0x0;
constexpr unsigned kClose = 0x8;
constexpr unsigned kPing = 0x9;
constexpr unsigned kPong = 0xa;
constexpr std::size_t kMaxControlPayload = 125;

// Bytes a UTF-8 sequence starting with `lead` has; 0 if `lead` cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0U) == 0xc0) return 2;
  if ((lead & 0xf0U) == 0xe0) return 3;
  if ((lead & 0xf8U) == 0xf0) return 4;
  return 0;
}

}  // namespace

bool is_valid_close_code(unsigned code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1013) return true;
  return code >= 3000 && code <= 4999;
}

int utf8_unfinished_tail(std::string_view text) {
  // A sequence cut short at the end: its lead byte is among the last three and wants
  // more bytes than follow it.
  int tail = 0;
  for (std::size_t back = 1; back <= 3 && back <= text.size(); ++back) {
    const auto byte = static_cast<unsigned char>(text[text.size() - back]);
    if ((byte & 0xc0U) == 0x80) continue;  // a continuation byte: look further back
    if (sequence_length(byte) > static_cast<int>(back)) tail = static_cast<int>(back);
    break;
  }
  const auto body = text.substr(0, text.size() - static_cast<std::size_t>(tail));
  if (!simdjson::validate_utf8(body.data(), body.size())) return -1;
  if (tail == 0) return 0;
  // Is the tail the start of a valid sequence? Complete it with the smallest bytes that
  // can follow its lead byte, and check that.
  std::array<char, 4> padded{};
  const auto lead = static_cast<unsigned char>(text[text.size() - static_cast<std::size_t>(tail)]);
  const auto length = static_cast<std::size_t>(sequence_length(lead));
  std::copy(text.end() - tail, text.end(), padded.begin());
  for (auto i = static_cast<std::size_t>(tail); i < length; ++i) {
    unsigned char pad = 0x80;
    if (i == 1 && lead == 0xe0) pad = 0xa0;  // no overlong three-byte forms
    if (i == 1 && lead == 0xf0) pad = 0x90;  // no overlong four-byte forms
    padded[i] = static_cast<char>(pad);
  }
  return simdjson::validate_utf8(padded.data(), length) ? tail : -1;
}

FrameParser::Result FrameParser::parse(std::string_view input, std::string& message) {
  const auto size = input.size();
  const auto result = [&](Event event) { return Result{size - input.size(), event}; };
  for (;;) {
    switch (stage_) {
      case Stage::failed: return Result{size, Event::none};
      case Stage::header:
        if (!read_header(input)) return result(stage_ == Stage::failed ? Event::error : Event::none);
        break;
      case Stage::data:
        message_bytes_ += take_payload(input, message);
        if (const auto event = after_data(message); event != Event::none) return result(event);
        if (payload_left_ > 0) return result(Event::none);  // the input ended inside the payload
        break;
      case Stage::control:
        take_payload(input, control_);
        if (payload_left_ > 0) return result(Event::none);
        return result(finish_control());
    }
  }
}

bool FrameParser::read_header(std::string_view& input) {
  while (header_size_ < 2 && !input.empty()) {
    header_[header_size_++] = static_cast<unsigned char>(input.front());
    input.remove_prefix(1);
    if (header_size_ == 2 && !check_start()) return false;
  }
  if (header_size_ < 2) return false;
  const unsigned length7 = header_[1] & 0x7fU;
  const std::size_t extended = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
  const std::size_t needed = 2 + extended + 4;
  const auto take = std::min(needed - header_size_, input.size());
  std::copy_n(input.begin(), take, header_.begin() + header_size_);
  header_size_ = static_cast<std::uint8_t>(header_size_ + take);
  input.remove_prefix(take);
  if (header_size_ < needed) return false;
  return accept_header(extended);
}

bool FrameParser::check_start() {
  const unsigned opcode = header_[0] & 0x0fU;
  const bool fin = (header_[0] & kFin) != 0;
  if ((header_[0] & kReservedBits) != 0)
    return refuse(close_code::protocol_error, "reserved bits set, but no extension negotiated");
  if ((header_[1] & kMasked) == 0)
    return refuse(close_code::protocol_error, "a client's frames must be masked");
  switch (opcode) {
    case kContinuation:
      if (message_opcode_ == kNone)
        return refuse(close_code::protocol_error, "continuation frame without a message to continue");
      return true;
    case kText:
    case kBinary:
      if (message_opcode_ != kNone)
        return refuse(close_code::protocol_error, "new message before the last fragment of the previous one");
      return true;
    case kClose:
    case kPing:
    case kPong:
      if (!fin) return refuse(close_code::protocol_error, "fragmented control frame");
      if ((header_[1] & 0x7fU) > kMaxControlPayload)
        return refuse(close_code::protocol_error, "control frame payload over 125 bytes");
      return true;
    default: return refuse(close_code::protocol_error, "reserved opcode");
  }
}

bool FrameParser::accept_header(std::size_t extended) {
  std::uint64_t length = header_[1] & 0x7fU;
  if (extended != 0) {
    length = 0;
    for (std::size_t i = 0; i < extended; ++i) length = (length << 8) | header_[2 + i];
    if (extended == 2 && length < 126)
      return refuse(close_code::protocol_error, "payload length not in its shortest form");
    if (extended == 8 && (length >> 63) != 0)
      return refuse(close_code::protocol_error, "payload length with its most significant bit set");
    if (extended == 8 && length <= 0xffff)
      return refuse(close_code::protocol_error, "payload length not in its shortest form");
  }
  std::copy_n(header_.begin() + 2 + extended, 4, mask_.begin());
  const unsigned opcode = header_[0] & 0x0fU;
  header_size_ = 0;
  mask_offset_ = 0;
  payload_left_ = length;
  if ((opcode & 0x8U) != 0) {
    control_opcode_ = static_cast<std::uint8_t>(opcode);
    control_.clear();
    stage_ = Stage::control;
    return true;
  }
  if (opcode != kContinuation) {
    message_opcode_ = static_cast<std::uint8_t>(opcode);
    message_bytes_ = 0;
    utf8_checked_ = 0;
  }
  if (max_message_ != 0 && length > max_message_ - std::min<std::uint64_t>(message_bytes_, max_message_))
    return refuse(close_code::too_big, "message over WS_MAX_MESSAGE_SIZE");
  fin_ = (header_[0] & kFin) != 0;
  stage_ = Stage::data;
  return true;
}

std::size_t FrameParser::take_payload(std::string_view& input, std::string& into) {
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, input.size()));
  const auto from = into.size();
  into.append(input.data(), n);
  input.remove_prefix(n);
  unmask(into.data() + from, n);
  payload_left_ -= n;
  return n;
}

void FrameParser::unmask(char* data, std::size_t n) {
  // Eight bytes at a time with the key rotated to this frame's position.
  std::array<unsigned char, 8> key{};
  for (std::size_t k = 0; k < key.size(); ++k) key[k] = mask_[(mask_offset_ + k) & 3U];
  std::uint64_t key64 = 0;
  std::memcpy(&key64, key.data(), key.size());
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + i, 8);
    word ^= key64;
    std::memcpy(data + i, &word, 8);
  }
  for (; i < n; ++i) data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^ key[i & 7U]);
  mask_offset_ = static_cast<std::uint8_t>((mask_offset_ + n) & 3U);
}

FrameParser::Event FrameParser::after_data(std::string& message) {
  if (message_opcode_ == kText) {
    const auto tail = utf8_unfinished_tail(std::string_view(message).substr(utf8_checked_));
    if (tail < 0) return fail(close_code::invalid_payload, "text message is not valid UTF-8");
    utf8_checked_ = message.size() - static_cast<std::size_t>(tail);
  }
  if (payload_left_ > 0) return Event::none;
  stage_ = Stage::header;
  if (!fin_) return Event::none;
  if (message_opcode_ == kText && utf8_checked_ != message.size()) {
    return fail(close_code::invalid_payload, "text message ends inside a UTF-8 sequence");
  }
  text_ = message_opcode_ == kText;
  message_opcode_ = kNone;
  message_bytes_ = 0;
  utf8_checked_ = 0;
  return Event::message;
}

FrameParser::Event FrameParser::finish_control() {
  stage_ = Stage::header;
  if (control_opcode_ == kPing) return Event::ping;
  if (control_opcode_ == kPong) return Event::pong;
  close_code_ = 0;
  if (control_.size() == 1) return fail(close_code::protocol_error, "close frame with a 1-byte payload");
  if (control_.size() >= 2) {
    const unsigned code =
        (static_cast<unsigned char>(control_[0]) << 8U) | static_cast<unsigned char>(control_[1]);
    if (!is_valid_close_code(code)) return fail(close_code::protocol_error, "invalid close code");
    control_.erase(0, 2);
    if (utf8_unfinished_tail(control_) != 0)
      return fail(close_code::invalid_payload, "close reason is not valid UTF-8");
    close_code_ = static_cast<unsigned short>(code);
  }
  return Event::close;
}

bool FrameParser::refuse(unsigned short code, const char* reason) {
  fail(code, reason);
  return false;
}

FrameParser::Event FrameParser::fail(unsigned short code, const char* reason) {
  stage_ = Stage::failed;
  error_code_ = code;
  error_reason_ = reason;
  return Event::error;
}

}  // namespace natsync
