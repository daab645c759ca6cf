#pragma once
// Latency histogram with bounded memory and about 0.1% relative precision: 1 µs
// buckets up to 2,048 µs, then 1,024 buckets per power of two (HdrHistogram's idea,
// in a few lines). One per thread; merged at the end.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace loadgen {

class Histogram {
 public:
  Histogram() : counts_(kLinear + kPerOctave * kOctaves, 0) {}

  void record(std::uint64_t micros) {
    ++counts_[index(micros)];
    ++total_;
    max_ = std::max(max_, micros);
  }

  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  // The value at percentile `p` (0–100), as the upper bound of its bucket.
  std::uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static constexpr std::size_t kLinear = 2048;
  static constexpr std::size_t kPerOctave = 1024;
  static constexpr std::size_t kOctaves = 30;  // up to 2^41 µs

  static std::size_t index(std::uint64_t v) {
    if (v < kLinear) return v;
    const auto octave = static_cast<std::size_t>(std::bit_width(v)) - 11;  // v >> octave in [1024, 2047]
    const auto clamped = std::min(octave, kOctaves);
    if (clamped != octave) return kLinear + kPerOctave * kOctaves - 1;
    return kLinear + (octave - 1) * kPerOctave + static_cast<std::size_t>((v >> octave) - kPerOctave);
  }

  static std::uint64_t upper(std::size_t i) {
    if (i < kLinear) return i;
    const auto octave = (i - kLinear) / kPerOctave + 1;
    const auto mantissa = (i - kLinear) % kPerOctave + kPerOctave;
    return ((mantissa + 1) << octave) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace loadgen
