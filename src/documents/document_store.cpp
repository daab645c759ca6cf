#include "documents/document_store.hpp"

#include <array>
#include <cstdio>
#include <random>

namespace natsync {

std::string random_epoch() {
  std::random_device random;
  const auto value = (static_cast<std::uint64_t>(random()) << 32U) ^ random();
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(value));
  return {text.data(), 12};  // 48 bits: enough to tell two lifetimes of a store apart
}

}  // namespace natsync
