// The load generator's parsers read what servers under test send: they must reject
// what is malformed and never read past what they were given.
#include "wire.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace loadgen;

TEST(LoadgenWire, ServerFramesAtEveryLengthEncoding) {
  for (std::size_t length : {0UL, 125UL, 126UL, 65535UL, 65536UL}) {
    std::string frame;
    frame.push_back('\x81');
    if (length < 126) {
      frame.push_back(static_cast<char>(length));
    } else if (length <= 65535) {
      frame += {'\x7e', static_cast<char>(length >> 8), static_cast<char>(length & 0xff)};
    } else {
      frame.push_back('\x7f');
      for (int shift = 56; shift >= 0; shift -= 8)
        frame.push_back(static_cast<char>((length >> shift) & 0xff));
    }
    frame.append(length, 'p');
    ServerFrame parsed;
    EXPECT_EQ(parse_server_frame(frame, parsed), static_cast<long>(frame.size()));
    EXPECT_EQ(parsed.payload.size(), length);
    EXPECT_EQ(parsed.opcode, 1);
    EXPECT_TRUE(parsed.fin);
    // Every proper prefix is incomplete, never an error or a frame.
    for (std::size_t cut = 0; cut < frame.size(); cut += 1 + cut / 3) {
      EXPECT_EQ(parse_server_frame(std::string_view(frame).substr(0, cut), parsed), 0) << cut;
    }
  }
}

TEST(LoadgenWire, HostileServerFramesAreRejected) {
  ServerFrame parsed;
  EXPECT_EQ(parse_server_frame(std::string("\x81\x85mask", 6), parsed), -1);  // masked
  EXPECT_EQ(parse_server_frame(std::string("\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff", 10), parsed), -1);
}

TEST(LoadgenWire, NatsOperations) {
  NatsOp op;
  EXPECT_EQ(parse_nats_op("MSG a.b 1 5\r\nhello\r\nPING\r\n", op), 20);
  EXPECT_EQ(op.kind, NatsOp::Kind::msg);
  EXPECT_EQ(op.payload, "hello");
  EXPECT_EQ(parse_nats_op("MSG a.b 1 reply 5\r\nhello\r\n", op), 26);
  EXPECT_EQ(parse_nats_op("MSG a.b 1 5\r\nhel", op), 0);
  EXPECT_EQ(parse_nats_op("MSG a.b 1 x\r\n", op), -1);
  EXPECT_EQ(parse_nats_op("MSG a.b 1 99999999999999999999999\r\n", op), -1);
  EXPECT_EQ(parse_nats_op("PING\r\n", op), 6);
  EXPECT_EQ(op.kind, NatsOp::Kind::ping);
  EXPECT_EQ(parse_nats_op("-ERR 'Authorization Violation'\r\n", op), 32);
  EXPECT_EQ(op.kind, NatsOp::Kind::err);
  EXPECT_EQ(parse_nats_op("WHAT\r\n", op), -1);
  EXPECT_EQ(parse_nats_op("PIN", op), 0);
  EXPECT_EQ(parse_nats_op("MSG a 1 18446744073709551615\r\nx\r\n", op), 0);  // size near 2^64
}

TEST(LoadgenWire, HttpResponses) {
  HttpResponse response;
  ASSERT_TRUE(
      parse_http_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nrest", response));
  EXPECT_EQ(response.status, 101);
  EXPECT_EQ(response.size, 56U);
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", response));
  ASSERT_TRUE(parse_http_response("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", response));
  EXPECT_EQ(response.status, 200);
  ASSERT_TRUE(parse_http_response("garbage\r\n\r\n", response));
  EXPECT_EQ(response.status, -1);
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\n", response));
  EXPECT_FALSE(
      parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", response));
}

TEST(LoadgenWire, PayloadIsExactlyTheAskedSizeAndReadsBack) {
  const auto payload = make_payload(3, 123456789, 987654321012345, 64);
  EXPECT_EQ(payload.size(), 64U);
  PayloadFields fields;
  ASSERT_TRUE(read_payload(R"({"type":"data","topic":"t","data":)" + payload + "}", fields));
  EXPECT_EQ(fields.publisher, 3);
  EXPECT_EQ(fields.sequence, 123456789);
  EXPECT_EQ(fields.sent_ns, 987654321012345);
  EXPECT_FALSE(read_payload(R"({"i":1,"s":)", fields));
}

TEST(LoadgenWire, RandomBytesNeverCrashOrOverrun) {
  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes(random() % 40, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    if (round % 3 == 0 && !bytes.empty()) bytes[0] = 'M';
    ServerFrame frame;
    NatsOp op;
    HttpResponse response;
    PayloadFields fields;
    const auto f = parse_server_frame(bytes, frame);
    EXPECT_LE(f, static_cast<long>(bytes.size()));
    const auto n = parse_nats_op(bytes, op);
    EXPECT_LE(n, static_cast<long>(bytes.size()));
    if (parse_http_response(bytes, response)) {
      EXPECT_LE(response.size, bytes.size());
    }
    (void)read_payload(bytes, fields);
  }
}
