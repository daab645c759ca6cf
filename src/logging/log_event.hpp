#pragma once
// A log line with fields: what happened in words, and the facts of the event (connection
// id, user id, close code, …) as key/value pairs that a JSON log (LOG_FORMAT=json) keeps as
// members and a text log appends as key=value.
//
// The fields travel inside spdlog's message, after the text, each behind a unit separator
// (0x1f, which no message of ours contains); the formatters (log_formatters.hpp) split
// them off. So every logger and sink of spdlog works unchanged, and a line costs nothing
// more than its text when its level is off.
#include <spdlog/logger.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace natsync {

inline constexpr char kLogFieldSeparator = '\x1f';

// One field: its value is text (quoted in JSON) or a whole number (a JSON number).
class LogField {
 public:
  LogField(std::string_view key, std::string_view text) : key_(key), value_(text), number_(false) {}
  LogField(std::string_view key, const char* text) : LogField(key, std::string_view(text)) {}
  LogField(std::string_view key, const std::string& text) : LogField(key, std::string_view(text)) {}
  template <std::integral Number>
  LogField(std::string_view key, Number number) : key_(key), value_(std::to_string(number)), number_(true) {}

  void append_to(std::string& out) const {
    out.push_back(kLogFieldSeparator);
    out.push_back(number_ ? '#' : '$');  // tells the JSON formatter how to write the value
    out.append(key_).push_back('=');
    // A value never ends a field early: a separator inside it becomes a space.
    for (const char c : value_) out.push_back(c == kLogFieldSeparator ? ' ' : c);
  }

 private:
  std::string_view key_;
  std::string value_;
  bool number_;
};

inline void log_event(spdlog::logger& log, spdlog::level::level_enum level, std::string_view message,
                      std::initializer_list<LogField> fields) {
  if (!log.should_log(level)) return;
  std::string line(message);
  for (const auto& field : fields) field.append_to(line);
  log.log(level, "{}", line);
}

}  // namespace natsync
