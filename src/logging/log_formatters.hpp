#pragma once
// The two ways natsync writes a log line (LOG_FORMAT), both reading the fields log_event
// put behind the message:
//   text: 2026-12-04T22:40:01.123 info connection closed connection_id=7 code=1000
//   json: {"time":"2026-12-04T22:40:01.123Z","level":"info","message":"connection
//   closed","connection_id":7,"code":1000}
// Times are UTC. A JSON line is always one valid object: the message and text fields are
// escaped (control bytes as \u00XX, invalid UTF-8 as U+FFFD), whatever a client sent.
#include <spdlog/formatter.h>

#include <memory>

namespace natsync {

class TextLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace natsync
