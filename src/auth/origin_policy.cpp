#include "auth/origin_policy.hpp"

#include <algorithm>
#include <cctype>

namespace natsync {
namespace {

std::string normalise(std::string_view origin) {
  while (!origin.empty() && origin.back() == '/') origin.remove_suffix(1);
  std::string out(origin);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

OriginPolicy::OriginPolicy(const std::vector<std::string>& allowed) {
  for (const auto& entry : allowed) {
    if (entry == "*") allow_any_ = true;
    allowed_.push_back(normalise(entry));
  }
  if (allowed_.empty()) allow_any_ = true;
}

bool OriginPolicy::allows(std::string_view origin_header) const {
  if (allow_any_ || origin_header.empty()) return true;
  const auto origin = normalise(origin_header);
  return std::find(allowed_.begin(), allowed_.end(), origin) != allowed_.end();
}

}  // namespace natsync
