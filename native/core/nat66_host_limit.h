// Mappings per inside /64 (RFC 6888 REQ-4: a per-subscriber port limit; in IPv6 one host can use a whole /64,
// so the /64 is the subscriber). Sharded counts, each shard under its own lock.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "nat66_spinlock.h"

namespace npt66 {

class Nat66HostLimit {
 public:
  explicit Nat66HostLimit(uint32_t limit) : limit_(limit), shards_(new Shard[kShards]) {}

  // Counts one more mapping for the /64 `prefix64` unless it already holds `limit`; false when refused.
  bool acquire(uint64_t prefix64);
  // A new limit for the next acquire (a reload): a /64 above it keeps its mappings, but gets no more.
  void set_limit(uint32_t limit) noexcept { limit_.store(limit, std::memory_order_relaxed); }
  void release(uint64_t prefix64) noexcept;
  uint32_t used(uint64_t prefix64) const;
  uint32_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kShards = 64;
  struct alignas(64) Shard {
    mutable Nat66Spinlock lock;
    std::unordered_map<uint64_t, uint32_t> counts;
  };
  Shard& shard_of(uint64_t prefix64) const noexcept {
    return shards_[(prefix64 * 0x9E3779B97F4A7C15ull) >> 58];  // Fibonacci hashing: top 6 bits
  }

  std::atomic<uint32_t> limit_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace npt66
