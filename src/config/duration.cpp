#include "config/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

namespace natsync {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t nanos;
};

// Longest suffixes first so "ms" is not read as "m" followed by garbage.
constexpr std::array<Unit, 8> kUnits{{{"ns", 1},
                                      {"us", 1'000},
                                      {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
                                      {"ms", 1'000'000},
                                      {"s", 1'000'000'000},
                                      {"m", 60'000'000'000},
                                      {"h", 3'600'000'000'000},
                                      {"", 0}}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration::zero();
  if (text.empty()) return std::nullopt;

  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // Whole part.
    std::int64_t whole = 0;
    std::size_t digits = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      const int digit = text[pos] - '0';
      if (whole > (kMax - digit) / 10) return std::nullopt;
      whole = whole * 10 + digit;
      ++pos;
      ++digits;
    }
    // Fraction: kept as numerator/denominator, at most 18 digits are significant.
    std::int64_t frac = 0;
    std::int64_t scale = 1;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      while (pos < text.size() && is_digit(text[pos])) {
        if (scale < 1'000'000'000'000'000'000) {
          frac = frac * 10 + (text[pos] - '0');
          scale *= 10;
        }
        ++pos;
        ++digits;
      }
    }
    if (digits == 0) return std::nullopt;

    const Unit* unit = nullptr;
    for (const auto& candidate : kUnits) {
      if (candidate.nanos != 0 && text.substr(pos).starts_with(candidate.suffix)) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;  // Go requires a unit on every number.
    pos += unit->suffix.size();

    if (whole > kMax / unit->nanos) return std::nullopt;
    std::int64_t value = whole * unit->nanos;
    // frac/scale * nanos, computed in long double to avoid overflow; sub-ns is dropped.
    value += static_cast<std::int64_t>(static_cast<long double>(frac) * unit->nanos / scale);
    if (total > kMax - value) return std::nullopt;
    total += value;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  const auto ns = d.count();
  if (ns == 0) return "0s";
  constexpr std::array<std::pair<std::int64_t, std::string_view>, 5> kSteps{{
      {3'600'000'000'000, "h"},
      {60'000'000'000, "m"},
      {1'000'000'000, "s"},
      {1'000'000, "ms"},
      {1'000, "us"},
  }};
  for (const auto& [nanos, suffix] : kSteps) {
    if (ns % nanos == 0) return std::to_string(ns / nanos) + std::string(suffix);
  }
  return std::to_string(ns) + "ns";
}

}  // namespace natsync
