#include "config/config_file.hpp"

#include <algorithm>

namespace natsync {

namespace {

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

bool valid_key(std::string_view key) {
  if (key.empty() || (key.front() >= '0' && key.front() <= '9')) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::variant<std::vector<ConfigFileEntry>, std::string> parse_config_file(std::string_view text) {
  constexpr std::size_t kMaxLines = 10'000;
  std::vector<ConfigFileEntry> entries;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    auto line = trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (++number > kMaxLines) return "more than 10000 lines";
    if (line.empty() || line.front() == '#') continue;
    const auto fail = [number](std::string_view what) {
      std::string out(what);
      out.append(" (line ").append(std::to_string(number)).append(")");
      return out;
    };
    if (line.find('\0') != std::string_view::npos) return fail("a NUL byte");
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) return fail("not KEY=value");
    const auto key = trim(line.substr(0, equals));
    auto value = trim(line.substr(equals + 1));
    if (!valid_key(key))
      return fail(std::string("'").append(key.substr(0, 64)).append("' is not a setting name"));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      if (value.back() != value.front()) return fail("a quote that is not closed");
      value = value.substr(1, value.size() - 2);
    }
    entries.push_back(ConfigFileEntry{std::string(key), std::string(value), number});
  }
  return entries;
}

}  // namespace natsync
