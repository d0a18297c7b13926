// Log-linear latency histogram (32 sub-buckets per power of two: <= 3 % error), constant memory at any rate.
#pragma once
#include <array>
#include <bit>
#include <cstdint>

namespace npt66::bench {

class LatencyHistogram {
 public:
  void add(uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    if (ns > max_) max_ = ns;
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // Value at quantile q (0..1): the middle of the bucket holding it.
  uint64_t quantile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return midpoint(i);
    }
    return max_;
  }

 private:
  static constexpr unsigned kSubBits = 5;
  static constexpr uint64_t kSub = 1u << kSubBits;

  static size_t index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const unsigned e = 63 - static_cast<unsigned>(std::countl_zero(v));  // >= kSubBits
    return static_cast<size_t>((e - kSubBits + 1) * kSub + ((v >> (e - kSubBits)) & (kSub - 1)));
  }
  static uint64_t midpoint(size_t i) {
    if (i < kSub) return i;
    const unsigned e = static_cast<unsigned>(i / kSub) + kSubBits - 1;
    const uint64_t low = (kSub + i % kSub) << (e - kSubBits);
    return low + (uint64_t{1} << (e - kSubBits)) / 2;
  }

  std::array<uint64_t, 64 * kSub> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace npt66::bench
