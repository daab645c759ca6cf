#pragma once
// WS_ECHO_PATH: every text and binary message comes back as it came. A conformance aid
// (tests/conformance/ runs the RFC 6455 cases against it): the same transport as
// /ws/sync — framing, limits, UTF-8 checks, keep-alive — with no protocol on top.
#include <cstdint>
#include <memory>
#include <utility>

#include "limits/connection_limiter.hpp"
#include "protocol/error_code.hpp"
#include "session/transport.hpp"

namespace natsync {

class EchoHandler final : public ConnectionHandler {
 public:
  EchoHandler(Transport& transport, std::uint64_t id, ConnectionLimiter::Ticket ticket)
      : transport_(transport), id_(id), ticket_(std::move(ticket)) {}

  std::uint64_t connection_id() const override { return id_; }
  void on_open() override { transport_.start_reading(); }
  void on_message(std::string_view message, bool text, Clock::time_point /*now*/) override {
    const auto opcode = text ? WireFrame::Opcode::text : WireFrame::Opcode::binary;
    if (!transport_.send(std::make_shared<const WireFrame>(opcode, message))) on_overflow();
  }
  void on_tick(Clock::time_point /*now*/, std::chrono::system_clock::time_point /*wall*/) override {}
  void on_overflow() override { transport_.cut(nullptr, close_code::slow_consumer); }
  void on_shutdown() override { transport_.close(close_code::going_away); }
  void on_closed() override {}

 private:
  Transport& transport_;
  std::uint64_t id_;
  ConnectionLimiter::Ticket ticket_;  // its places under the connection limits
};

}  // namespace natsync
