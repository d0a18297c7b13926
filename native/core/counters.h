// Counters: one enum from counters.def, plus a per-thread block that is summed into snapshots.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace npt66 {

enum class Counter : uint16_t {
#define NPT66_COUNTER(name, kind, help) name,
#include "counters.def"
#undef NPT66_COUNTER
  count_
};

inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::count_);

struct CounterInfo {
  std::string_view name;
  bool is_drop;
  std::string_view help;
};

inline constexpr std::array<CounterInfo, kCounterCount> kCounterInfo = {{
#define NPT66_COUNTER(name, kind, help) {#name, std::string_view(#kind) == "drop", help},
#include "counters.def"
#undef NPT66_COUNTER
}};

// One writer (its packet thread), any number of readers: relaxed atomics cost a plain add on x86.
struct CounterBlock {
  std::array<std::atomic<uint64_t>, kCounterCount> v{};
  void add(Counter c, uint64_t n = 1) noexcept {
    auto& slot = v[static_cast<size_t>(c)];
    slot.store(slot.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get(Counter c) const noexcept { return v[static_cast<size_t>(c)].load(std::memory_order_relaxed); }
};

using CounterSnapshot = std::array<uint64_t, kCounterCount>;

inline void accumulate(CounterSnapshot& into, const CounterBlock& from) noexcept {
  for (size_t i = 0; i < kCounterCount; ++i) into[i] += from.v[i].load(std::memory_order_relaxed);
}

}  // namespace npt66
