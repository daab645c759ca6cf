#include "broker/subjects.hpp"

#include "protocol/topic.hpp"

namespace natsync {
namespace {

bool is_plain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
         c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string SubjectMap::encode_user(std::string_view user_id) {
  bool plain = !user_id.empty();
  for (const char c : user_id) plain = plain && is_plain(c);
  if (plain) return std::string(user_id);
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out = "~";
  out.reserve(1 + user_id.size() * 2);
  for (const char c : user_id) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0F]);
  }
  return out;
}

std::optional<std::string> SubjectMap::decode_user(std::string_view token) {
  if (token.empty()) return std::nullopt;
  if (token.front() != '~') {
    for (const char c : token) {
      if (!is_plain(c)) return std::nullopt;
    }
    return std::string(token);
  }
  token.remove_prefix(1);
  if (token.empty() || token.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(token.size() / 2);
  for (std::size_t i = 0; i < token.size(); i += 2) {
    const int high = hex_value(token[i]);
    const int low = hex_value(token[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>((high << 4) | low));
  }
  return out;
}

bool SubjectMap::valid_prefix(std::string_view prefix) { return is_valid_topic(prefix); }

}  // namespace natsync
