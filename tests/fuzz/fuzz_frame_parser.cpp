// libFuzzer target: the WebSocket frame parser (what a client sends on an established
// connection). Input: the first byte picks a read size, the rest is the byte stream.
// Checks that parsing never crashes or overruns, and that the events do not depend on
// how the stream was cut into reads: fed whole and fed in reads of that size must agree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transport/frame_parser.hpp"

namespace {

using natsync::FrameParser;

struct Seen {
  FrameParser::Event event;
  std::string data;
  unsigned code;
  bool operator==(const Seen&) const = default;
};

Seen seen(const FrameParser& parser, FrameParser::Event event, const std::string& message) {
  using Event = FrameParser::Event;
  switch (event) {
    case Event::message: return {event, message + (parser.text() ? "T" : "B"), 0};
    case Event::ping:
    case Event::pong:
    case Event::close: return {event, std::string(parser.control()), parser.close_code()};
    case Event::error: return {event, std::string(parser.error_reason()), parser.error_code()};
    case Event::none: break;
  }
  return {event, {}, 0};
}

// `step` 0: whole; otherwise reads of `step` bytes.
std::vector<Seen> run(std::string_view stream, std::size_t step) {
  FrameParser parser(4096);
  std::vector<Seen> events;
  std::string message;
  const auto handle = [&](FrameParser::Event event) {
    if (event == FrameParser::Event::none) return;
    events.push_back(seen(parser, event, message));
    if (event == FrameParser::Event::message) message.clear();
  };
  while (!stream.empty()) {
    auto piece = stream.substr(0, step == 0 ? stream.size() : step);
    stream.remove_prefix(piece.size());
    while (!piece.empty()) {
      const auto [consumed, event] = parser.parse(piece, message);
      if (consumed == 0 || consumed > piece.size()) __builtin_trap();
      piece.remove_prefix(consumed);
      handle(event);
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 16;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  if (run(stream, step) != run(stream, 0)) __builtin_trap();
  return 0;
}
