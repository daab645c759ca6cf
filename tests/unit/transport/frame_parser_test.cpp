#include "transport/frame_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace natsync;
using Event = FrameParser::Event;

namespace {

constexpr unsigned kText = 0x1;
constexpr unsigned kBinary = 0x2;
constexpr unsigned kContinuation = 0x0;
constexpr unsigned kClose = 0x8;
constexpr unsigned kPing = 0x9;
constexpr unsigned kPong = 0xa;

// A client frame as RFC 6455 §5.2 lays it out, masked unless told otherwise.
std::string frame(unsigned opcode, std::string_view payload, bool fin = true, bool masked = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80U : 0U) | opcode));
  const unsigned mask_bit = masked ? 0x80U : 0U;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126U));
    out.push_back(static_cast<char>(payload.size() >> 8U));
    out.push_back(static_cast<char>(payload.size() & 0xffU));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127U));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((payload.size() >> (8U * i)) & 0xffU));
  }
  const std::string key = masked ? "\x12\x34\xab\xcd" : "";
  out += key;
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  }
  return out;
}

std::string close_payload(unsigned code, std::string_view reason = {}) {
  std::string out{static_cast<char>(code >> 8U), static_cast<char>(code & 0xffU)};
  return out.append(reason);
}

struct Seen {
  Event event;
  std::string data;  // the message, control payload or close reason
  unsigned code = 0;
  bool text = false;
};

// Feeds `bytes` in pieces of `step`, handling every event as a session does.
std::vector<Seen> feed(FrameParser& parser, std::string_view bytes, std::size_t step = 1 << 20) {
  std::vector<Seen> seen;
  std::string message;
  while (!bytes.empty()) {
    auto piece = bytes.substr(0, step);
    bytes.remove_prefix(piece.size());
    while (!piece.empty()) {
      const auto [consumed, event] = parser.parse(piece, message);
      EXPECT_GT(consumed, 0U);
      piece.remove_prefix(consumed);
      switch (event) {
        case Event::none: break;
        case Event::message:
          seen.push_back({event, message, 0, parser.text()});
          message.clear();
          break;
        case Event::ping:
        case Event::pong: seen.push_back({event, std::string(parser.control())}); break;
        case Event::close: seen.push_back({event, std::string(parser.control()), parser.close_code()}); break;
        case Event::error:
          seen.push_back({event, std::string(parser.error_reason()), parser.error_code()});
          break;
      }
    }
  }
  return seen;
}

Seen only(const std::vector<Seen>& seen) {
  EXPECT_EQ(seen.size(), 1U);
  return seen.empty() ? Seen{Event::none, {}} : seen.front();
}

unsigned error_of(std::string_view bytes, std::size_t max_message = 1 << 20) {
  FrameParser parser(max_message);
  const auto seen = feed(parser, bytes);
  if (seen.empty() || seen.back().event != Event::error) return 0;
  return seen.back().code;
}

}  // namespace

TEST(FrameParser, ReadsAMessageWhateverPiecesItArrivesIn) {
  const std::string text =
      "{\"type\":\"sync\",\"topic\":\"a\",\"data\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}";
  const auto bytes = frame(kText, text);
  for (std::size_t step = 1; step <= bytes.size(); ++step) {
    FrameParser parser(1024);
    const auto seen = only(feed(parser, bytes, step));
    EXPECT_EQ(seen.event, Event::message) << "step " << step;
    EXPECT_EQ(seen.data, text);
    EXPECT_TRUE(seen.text);
    EXPECT_TRUE(parser.idle());
  }
}

TEST(FrameParser, JoinsFragmentsAroundControlFrames) {
  FrameParser parser(1024);
  const auto bytes = frame(kBinary, "ab", false) + frame(kPing, "p") + frame(kContinuation, "", false) +
                     frame(kPong, "") + frame(kContinuation, "cd") + frame(kText, "");
  const auto seen = feed(parser, bytes, 3);
  ASSERT_EQ(seen.size(), 4U);
  EXPECT_EQ(seen[0].event, Event::ping);
  EXPECT_EQ(seen[0].data, "p");
  EXPECT_EQ(seen[1].event, Event::pong);
  EXPECT_EQ(seen[2].event, Event::message);
  EXPECT_EQ(seen[2].data, "abcd");
  EXPECT_FALSE(seen[2].text);
  EXPECT_EQ(seen[3].event, Event::message);  // an empty text message
  EXPECT_EQ(seen[3].data, "");
  EXPECT_TRUE(seen[3].text);
}

TEST(FrameParser, LongLengths) {
  for (const std::size_t size : {126UL, 65535UL, 65536UL, 200000UL}) {
    std::string payload(size, 'x');
    for (std::size_t i = 0; i < size; i += 7) payload[i] = static_cast<char>('a' + i % 26);
    for (const std::size_t step : {1000UL, 65536UL}) {
      FrameParser parser(1 << 20);
      const auto seen = only(feed(parser, frame(kText, payload), step));
      EXPECT_EQ(seen.event, Event::message) << size;
      EXPECT_EQ(seen.data, payload);
    }
  }
}

TEST(FrameParser, CloseFramesGiveTheirCodeAndReason) {
  FrameParser parser(1024);
  auto seen = only(feed(parser, frame(kClose, close_payload(1000, "bye"))));
  EXPECT_EQ(seen.event, Event::close);
  EXPECT_EQ(seen.code, 1000U);
  EXPECT_EQ(seen.data, "bye");
  FrameParser empty(1024);
  seen = only(feed(empty, frame(kClose, "")));
  EXPECT_EQ(seen.event, Event::close);
  EXPECT_EQ(seen.code, 0U);
  for (const unsigned code : {1000U, 1001U, 1003U, 1007U, 1011U, 1013U, 3000U, 4999U}) {
    FrameParser p(1024);
    EXPECT_EQ(only(feed(p, frame(kClose, close_payload(code)))).code, code);
  }
}

// Hostile input: every rule a server enforces fails the connection with its code.
TEST(FrameParser, ProtocolViolationsFailWith1002) {
  EXPECT_EQ(error_of(frame(kText, "a", true, false)), 1002U) << "unmasked";
  EXPECT_EQ(error_of("\xc1\x80" + std::string(4, '\0')), 1002U) << "RSV1 without an extension";
  EXPECT_EQ(error_of("\x91\x80" + std::string(4, '\0')), 1002U) << "RSV3";
  for (const unsigned opcode : {3U, 7U, 0xbU, 0xfU}) EXPECT_EQ(error_of(frame(opcode, "")), 1002U) << opcode;
  EXPECT_EQ(error_of(frame(kContinuation, "a")), 1002U) << "continuation without a message";
  EXPECT_EQ(error_of(frame(kText, "a", false) + frame(kText, "b")), 1002U) << "new message inside one";
  EXPECT_EQ(error_of(frame(kPing, "a", false)), 1002U) << "fragmented ping";
  EXPECT_EQ(error_of(frame(kPing, std::string(126, 'a'))), 1002U) << "ping over 125 bytes";
  EXPECT_EQ(error_of(frame(kClose, "a")), 1002U) << "1-byte close payload";
  for (const unsigned code : {0U, 999U, 1004U, 1005U, 1006U, 1015U, 1016U, 2999U, 5000U}) {
    EXPECT_EQ(error_of(frame(kClose, close_payload(code))), 1002U) << code;
  }
  // Lengths not in their shortest form, and a 64-bit length with its top bit set.
  EXPECT_EQ(error_of(std::string("\x81\xfe\x00\x05", 4) + "mask" + "hello"), 1002U);
  EXPECT_EQ(error_of(std::string("\x81\xff\x00\x00\x00\x00\x00\x00\x00\x05", 10) + "mask"), 1002U);
  EXPECT_EQ(error_of(std::string("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10) + "mask"), 1002U);
}

TEST(FrameParser, MessagesOverTheLimitFailWith1009BeforeTheirPayloadArrives) {
  // Only the header: the parser refuses without waiting for (or buffering) the payload.
  const auto header = frame(kText, std::string(60000, 'a')).substr(0, 8);
  EXPECT_EQ(error_of(header, 1000), 1009U);
  EXPECT_EQ(error_of(frame(kText, std::string(11, 'a')), 10), 1009U);
  EXPECT_EQ(error_of(frame(kText, std::string(10, 'a')), 10), 0U);
  // Over the limit only together: fragments count as one message.
  EXPECT_EQ(
      error_of(frame(kText, std::string(6, 'a'), false) + frame(kContinuation, std::string(5, 'a')), 10),
      1009U);
  // A 2^63 - 1 byte length must not overflow the check.
  EXPECT_EQ(error_of(std::string("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff", 10) + "mask", 10), 1009U);
}

TEST(FrameParser, InvalidUtf8FailsWith1007AsSoonAsItArrives) {
  EXPECT_EQ(error_of(frame(kText, "ok \xff")), 1007U);
  EXPECT_EQ(error_of(frame(kText, "\xed\xa0\x80")), 1007U) << "a UTF-16 surrogate";
  EXPECT_EQ(error_of(frame(kText, "\xc0\xaf")), 1007U) << "overlong";
  EXPECT_EQ(error_of(frame(kText, "\xf4\x90\x80\x80")), 1007U) << "past U+10FFFF";
  EXPECT_EQ(error_of(frame(kText, "ends inside \xe2\x82")), 1007U);
  EXPECT_EQ(error_of(frame(kClose, close_payload(1000, "\xff"))), 1007U) << "close reason";
  // Fail fast: the first fragment's bad byte ends the connection; no final fragment needed.
  EXPECT_EQ(error_of(frame(kText, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90", false)), 1007U);
  // A sequence split across fragments is fine; binary is never checked.
  EXPECT_EQ(error_of(frame(kText, "\xe2", false) + frame(kContinuation, "\x82", false) +
                     frame(kContinuation, "\xac")),
            0U);
  EXPECT_EQ(error_of(frame(kBinary, "\xff\xfe")), 0U);
}

TEST(FrameParser, AfterAnErrorNothingMoreIsParsed) {
  FrameParser parser(1024);
  const auto seen = feed(parser, frame(kText, "a", true, false) + frame(kText, "b") + frame(kPing, ""));
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].event, Event::error);
  EXPECT_EQ(seen[0].data, "a client's frames must be masked");
}

TEST(FrameParser, Utf8UnfinishedTail) {
  EXPECT_EQ(utf8_unfinished_tail(""), 0);
  EXPECT_EQ(utf8_unfinished_tail("abc"), 0);
  EXPECT_EQ(utf8_unfinished_tail("a\xe2\x82\xac"), 0);
  EXPECT_EQ(utf8_unfinished_tail("a\xe2"), 1);
  EXPECT_EQ(utf8_unfinished_tail("a\xe2\x82"), 2);
  EXPECT_EQ(utf8_unfinished_tail("\xf0\x9f\x98"), 3);
  EXPECT_EQ(utf8_unfinished_tail("\xe0"), 1);       // E0 A0.. can still follow
  EXPECT_EQ(utf8_unfinished_tail("\xe0\x80"), -1);  // overlong, whatever follows
  EXPECT_EQ(utf8_unfinished_tail("\xed\xa0"), -1);  // a surrogate, whatever follows
  EXPECT_EQ(utf8_unfinished_tail("\xf4\x90"), -1);  // past U+10FFFF
  EXPECT_EQ(utf8_unfinished_tail("\xf5"), -1);
  EXPECT_EQ(utf8_unfinished_tail("\xc1"), -1);
  EXPECT_EQ(utf8_unfinished_tail("\x80"), -1);
  EXPECT_EQ(utf8_unfinished_tail("a\xff"), -1);
}

TEST(FrameParser, CloseCodes) {
  EXPECT_TRUE(is_valid_close_code(1000));
  EXPECT_TRUE(is_valid_close_code(1012));
  EXPECT_FALSE(is_valid_close_code(1005));
  EXPECT_FALSE(is_valid_close_code(1014));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_TRUE(is_valid_close_code(3000));
  EXPECT_FALSE(is_valid_close_code(5000));
}
