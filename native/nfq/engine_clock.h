// The engine's one clock for NAT66 timers (the table takes time from its caller, always the same clock):
// CLOCK_MONOTONIC in milliseconds, so a wall-clock step never expires or prolongs a mapping. Records and events
// leave the engine in Unix epoch milliseconds, converted with the clocks' offset at the time of conversion.
#pragma once
#include <time.h>

#include <cstdint>

namespace npt66::nfq {

inline uint64_t monotonic_ms() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

// Converts monotonic readings to Unix epoch milliseconds. Take one per batch: both clocks are read once.
class UnixTime {
 public:
  UnixTime() noexcept {
    timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    const int64_t real_ms = static_cast<int64_t>(real.tv_sec) * 1000 + real.tv_nsec / 1'000'000;
    offset_ms_ = real_ms - static_cast<int64_t>(monotonic_ms());
  }
  uint64_t from_monotonic(uint64_t mono_ms) const noexcept {
    const int64_t t = static_cast<int64_t>(mono_ms) + offset_ms_;
    return t < 0 ? 0 : static_cast<uint64_t>(t);
  }

 private:
  int64_t offset_ms_ = 0;
};

}  // namespace npt66::nfq
