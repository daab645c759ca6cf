#pragma once
// Which browser origins may open a WebSocket (ALLOWED_ORIGINS). The check protects
// users' browsers from cross-site WebSocket hijacking; clients that send no Origin
// header are not browsers and are let through (authentication still applies).
#include <string>
#include <string_view>
#include <vector>

namespace natsync {

class OriginPolicy {
 public:
  // An empty list or an entry "*" allows every origin. Entries are compared
  // case-insensitively with the Origin header, without a trailing slash.
  explicit OriginPolicy(const std::vector<std::string>& allowed);

  bool allows(std::string_view origin_header) const;

 private:
  std::vector<std::string> allowed_;
  bool allow_any_ = false;
};

}  // namespace natsync
