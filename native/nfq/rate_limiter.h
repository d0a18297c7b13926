// A token bucket shared by all packet threads, lock-free: the generic cell rate algorithm (GCRA) keeps one
// "theoretical arrival time" and admits an event if it is not more than the burst ahead of now.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

namespace npt66::nfq {

class RateLimiter {
 public:
  // `per_second` events on average, up to `burst` at once. 0 per second admits nothing.
  RateLimiter(uint32_t per_second, uint32_t burst) noexcept
      : interval_ns_(per_second == 0 ? 0 : 1'000'000'000LL / per_second),
        tolerance_ns_(interval_ns_ * (static_cast<int64_t>(std::max<uint32_t>(burst, 1)) - 1)) {}

  // Thread-safe. `now_ns` is a monotonic clock reading.
  bool allow(int64_t now_ns) noexcept {
    if (interval_ns_ == 0) return false;
    int64_t tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
      int64_t start = std::max(tat, now_ns);
      if (start - now_ns > tolerance_ns_) return false;
      if (tat_.compare_exchange_weak(tat, start + interval_ns_, std::memory_order_relaxed)) return true;
    }
  }

 private:
  int64_t interval_ns_;
  int64_t tolerance_ns_;
  std::atomic<int64_t> tat_{0};
};

}  // namespace npt66::nfq
