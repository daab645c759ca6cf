#include "protocol/wire_frame.hpp"

#include <gtest/gtest.h>

using namespace natsync;

namespace {

// Reads a server frame header the way RFC 6455 §5.2 defines it.
struct Header {
  unsigned fin_and_opcode = 0;
  bool masked = false;
  std::uint64_t length = 0;
  std::size_t size = 0;
};

Header read_header(std::string_view bytes) {
  Header h;
  const auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes.at(i)); };
  h.fin_and_opcode = b(0);
  h.masked = (b(1) & 0x80) != 0;
  h.length = b(1) & 0x7f;
  h.size = 2;
  if (h.length == 126) {
    h.length = (std::uint64_t{b(2)} << 8) | b(3);
    h.size = 4;
  } else if (h.length == 127) {
    h.length = 0;
    for (std::size_t i = 2; i < 10; ++i) h.length = (h.length << 8) | b(i);
    h.size = 10;
  }
  return h;
}

}  // namespace

TEST(WireFrame, HeaderUsesTheShortestLengthEncodingAtEveryBoundary) {
  for (std::size_t length : {0UL, 1UL, 125UL, 126UL, 127UL, 65535UL, 65536UL, 70000UL}) {
    const std::string payload(length, 'x');
    const WireFrame frame(WireFrame::Opcode::text, payload);
    const auto header = read_header(frame.bytes());
    EXPECT_EQ(header.fin_and_opcode, 0x81U) << length;
    EXPECT_FALSE(header.masked);
    EXPECT_EQ(header.length, length);
    EXPECT_EQ(header.size, length < 126 ? 2U : length <= 65535 ? 4U : 10U) << length;
    EXPECT_EQ(frame.size(), header.size + length);
    EXPECT_EQ(frame.bytes().substr(header.size), payload);
    EXPECT_EQ(frame.payload(), payload);
  }
}

TEST(WireFrame, ReservedConstructorFramesInPlace) {
  std::string text(WireFrame::kMaxHeader, '\0');
  text += R"({"a":1})";
  const WireFrame frame(WireFrame::Opcode::text, WireFrame::header_room, std::move(text));
  EXPECT_EQ(frame.payload(), R"({"a":1})");
  EXPECT_EQ(frame.bytes(), std::string("\x81\x07") + R"({"a":1})");
}

TEST(WireFrame, PingIsAnEmptyControlFrame) {
  const WireFrame ping(WireFrame::Opcode::ping, "");
  EXPECT_EQ(ping.bytes(), std::string("\x89\x00", 2));
}
