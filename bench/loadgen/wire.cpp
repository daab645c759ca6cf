#include "wire.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace loadgen {

namespace {

// Any key is valid for the server; a benchmark has no proxy cache to defeat.
constexpr std::string_view kWebSocketKey = "bmF0c3luYy1sb2FkZ2VuIQ==";
// A fixed mask: masking is required of clients (RFC 6455 §5.3); its unpredictability
// only matters against proxies, and there are none on loopback.
constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

bool parse_size(std::string_view text, std::size_t& out) {
  return !text.empty() && std::from_chars(text.data(), text.data() + text.size(), out).ec == std::errc();
}

bool read_int(std::string_view text, std::string_view key, std::int64_t& out) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return false;
  const char* begin = text.data() + at + key.size();
  return std::from_chars(begin, text.data() + text.size(), out).ec == std::errc();
}

}  // namespace

std::string websocket_upgrade_request(std::string_view host, std::string_view path_and_query) {
  std::string out;
  out.reserve(256);
  out.append("GET ").append(path_and_query).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(kWebSocketKey);
  out.append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
  return out;
}

void append_client_frame(std::string& out, std::string_view payload, bool binary, std::uint8_t opcode) {
  if (opcode == 0) opcode = binary ? 2 : 1;
  out.push_back(static_cast<char>(0x80 | opcode));
  const auto size = payload.size();
  if (size < 126) {
    out.push_back(static_cast<char>(0x80 | size));
  } else if (size <= 0xffff) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  out.append(reinterpret_cast<const char*>(kMask.data()), kMask.size());
  const auto start = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < size; ++i) out[start + i] = static_cast<char>(out[start + i] ^ kMask[i % 4]);
}

long parse_server_frame(std::string_view bytes, ServerFrame& frame) {
  if (bytes.size() < 2) return 0;
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  const auto b1 = static_cast<std::uint8_t>(bytes[1]);
  if ((b1 & 0x80) != 0) return -1;  // servers never mask
  std::size_t header = 2;
  std::uint64_t length = b1 & 0x7f;
  if (length == 126) {
    header = 4;
    if (bytes.size() < header) return 0;
    length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[2])) << 8) |
             static_cast<std::uint8_t>(bytes[3]);
  } else if (length == 127) {
    header = 10;
    if (bytes.size() < header) return 0;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(bytes[i]);
    if (length > (std::uint64_t{1} << 40)) return -1;
  }
  if (bytes.size() - header < length) return 0;
  frame.opcode = b0 & 0x0f;
  frame.fin = (b0 & 0x80) != 0;
  frame.payload = bytes.substr(header, length);
  return static_cast<long>(header + length);
}

bool parse_http_response(std::string_view bytes, HttpResponse& response) {
  const auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  const auto head = bytes.substr(0, head_end + 2);
  // "HTTP/1.1 200 OK"
  if (head.size() < 12 ||
      std::from_chars(head.data() + 9, head.data() + 12, response.status).ec != std::errc()) {
    response.status = -1;
    response.size = head_end + 4;
    return true;
  }
  std::size_t body = 0;
  for (std::size_t line = head.find("\r\n"); line != std::string_view::npos;) {
    const auto next = head.find("\r\n", line + 2);
    if (next == std::string_view::npos) break;
    auto field = head.substr(line + 2, next - line - 2);
    if (field.size() > 15 && (field[0] == 'C' || field[0] == 'c') &&
        (field.substr(0, 15) == "Content-Length:" || field.substr(0, 15) == "content-length:")) {
      auto value = field.substr(15);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      parse_size(value, body);
    }
    line = next;
  }
  if (body > bytes.size() || bytes.size() < head_end + 4 + body) return false;  // (no overflow)
  response.size = head_end + 4 + body;
  return true;
}

long parse_nats_op(std::string_view bytes, NatsOp& op) {
  const auto eol = bytes.find("\r\n");
  if (eol == std::string_view::npos) return 0;
  const auto line = bytes.substr(0, eol);
  const auto taken = static_cast<long>(eol + 2);
  if (line.starts_with("MSG ")) {
    // MSG <subject> <sid> [reply-to] <#bytes>
    const auto last_space = line.rfind(' ');
    std::size_t size = 0;
    if (!parse_size(line.substr(last_space + 1), size)) return -1;
    if (size > bytes.size() || bytes.size() < eol + 2 + size + 2) return 0;  // (no overflow)
    op.kind = NatsOp::Kind::msg;
    op.payload = bytes.substr(eol + 2, size);
    return static_cast<long>(eol + 2 + size + 2);
  }
  if (line == "PING") {
    op.kind = NatsOp::Kind::ping;
  } else if (line == "PONG") {
    op.kind = NatsOp::Kind::pong;
  } else if (line == "+OK") {
    op.kind = NatsOp::Kind::ok;
  } else if (line.starts_with("-ERR")) {
    op.kind = NatsOp::Kind::err;
    op.payload = line;
  } else if (line.starts_with("INFO")) {
    op.kind = NatsOp::Kind::info;
  } else {
    return -1;
  }
  return taken;
}

std::string make_payload(int publisher, std::int64_t sequence, std::int64_t sent_ns, std::size_t size) {
  std::string out = "{\"i\":" + std::to_string(publisher) + ",\"s\":" + std::to_string(sequence) +
                    ",\"t\":" + std::to_string(sent_ns) + ",\"p\":\"";
  const std::size_t closing = 2;  // "}
  if (out.size() + closing < size) out.append(size - out.size() - closing, 'x');
  out.append("\"}");
  return out;
}

bool read_payload(std::string_view text, PayloadFields& fields) {
  std::int64_t publisher = 0;
  if (!read_int(text, "{\"i\":", publisher) || !read_int(text, ",\"s\":", fields.sequence) ||
      !read_int(text, ",\"t\":", fields.sent_ns)) {
    return false;
  }
  fields.publisher = static_cast<int>(publisher);
  return true;
}

}  // namespace loadgen
