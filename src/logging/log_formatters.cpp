#include "logging/log_formatters.hpp"

#include <spdlog/details/log_msg.h>

#include <chrono>
#include <ctime>
#include <string_view>

#include "logging/log_event.hpp"

namespace natsync {

namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// 2026-12-04T22:40:01.123, UTC.
void append_time(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t whole = seconds.count();
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[32];
  const auto length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  append(dest, std::string_view(text, length));
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03d", static_cast<int>(millis));
  append(dest, fraction);
}

// The length of the valid UTF-8 sequence at the start of `text`, or 0.
std::size_t utf8_sequence(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char min2 = 0x80;
  unsigned char max2 = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) min2 = 0xa0;  // no overlong forms
    if (lead == 0xed) max2 = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) min2 = 0x90;
    if (lead == 0xf4) max2 = 0x8f;  // at most U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < min2 || byte(1) > max2) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

void append_json_string(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.push_back('"');
  while (!text.empty()) {
    const auto c = static_cast<unsigned char>(text.front());
    if (c == '"' || c == '\\') {
      dest.push_back('\\');
      dest.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      append(dest, "\\n");
    } else if (c == '\t') {
      append(dest, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      append(dest, escaped);
    } else if (c < 0x80) {
      dest.push_back(static_cast<char>(c));
    } else if (const auto length = utf8_sequence(text); length > 0) {
      append(dest, text.substr(0, length));
      text.remove_prefix(length - 1);
    } else {
      append(dest, "\\ufffd");
    }
    text.remove_prefix(1);
  }
  dest.push_back('"');
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: break;
  }
  return "off";
}

// A field written as a JSON number must be one: a message may hold a client's bytes.
bool is_integer(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.empty() || text.size() > 20) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Calls fn(kind, key, value) for each field behind the message; returns the message.
template <class Fn>
std::string_view split_fields(std::string_view payload, Fn fn) {
  const auto first = payload.find(kLogFieldSeparator);
  const auto message = payload.substr(0, first);
  if (first == std::string_view::npos) return message;
  auto rest = payload.substr(first + 1);
  for (;;) {
    const auto end = rest.find(kLogFieldSeparator);
    const auto field = rest.substr(0, end);
    const auto equals = field.find('=');
    if (field.size() >= 2 && equals != std::string_view::npos) {
      fn(field.front(), field.substr(1, equals - 1), field.substr(equals + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return message;
}

}  // namespace

void TextLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  append_time(dest, msg.time);
  dest.push_back(' ');
  // The text log keeps spdlog's names ("warning"), as it always had.
  const auto name = spdlog::level::to_string_view(msg.level);
  append(dest, std::string_view(name.data(), name.size()));
  dest.push_back(' ');
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  std::string fields;
  const auto message = split_fields(payload, [&fields](char, std::string_view key, std::string_view value) {
    fields.append(" ").append(key).append("=").append(value);
  });
  append(dest, message);
  append(dest, fields);
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> TextLogFormatter::clone() const {
  return std::make_unique<TextLogFormatter>();
}

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  append(dest, R"({"time":")");
  append_time(dest, msg.time);
  append(dest, R"(Z","level":")");
  append(dest, level_name(msg.level));
  append(dest, R"(","message":)");
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  spdlog::memory_buf_t fields;
  const auto message =
      split_fields(payload, [&fields](char kind, std::string_view key, std::string_view value) {
        fields.push_back(',');
        append_json_string(fields, key);
        fields.push_back(':');
        if (kind == '#' && is_integer(value)) {
          append(fields, value);
        } else {
          append_json_string(fields, value);
        }
      });
  append_json_string(dest, message);
  dest.append(fields.data(), fields.data() + fields.size());
  append(dest, "}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

}  // namespace natsync
