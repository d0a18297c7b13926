// Outside ports (and ICMPv6 echo identifiers) per (outside address, protocol): which mapping owns each one
// and until when a freed one rests (RFC 6888 REQ-8: a freed port is not reused for 120 s).
// Lock-free: a port is taken by compare-and-swap, so two shards can never hand out the same port, and the
// owner array doubles as the inbound index (outside address + port -> mapping handle) with no hashing.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "nat66_memory.h"
#include "nat66_types.h"

namespace npt66 {

class Nat66Ports {
 public:
  static constexpr uint32_t kNoOwner = UINT32_MAX;

  explicit Nat66Ports(size_t addresses);

  // Takes a port for `owner` (< 2^31 - 1): `preferred` first if it lies in [lo, hi], then each port of
  // [lo, hi] in turn from lo + start % (hi - lo + 1). Returns the port, or 0 if every one is owned or resting.
  uint16_t claim(size_t address, Nat66Proto p, uint16_t preferred, uint16_t lo, uint16_t hi, uint32_t start,
                 uint32_t owner, uint64_t now_ms) noexcept;

  // Frees a port; it cannot be claimed again before `rest_until_ms` (later by at most one second).
  void release(size_t address, Nat66Proto p, uint16_t port, uint64_t rest_until_ms) noexcept;

  // Every port of `address` free again, quarantine included: its address went and the next one starts clean.
  // Only once no mapping holds one of them (Nat66Table::remove_stale).
  void clear(size_t address) noexcept;

  // Whether a mapping owns a port of [lo, hi] for protocol `p`.
  bool any_owned(size_t address, Nat66Proto p, uint16_t lo, uint16_t hi) const noexcept;

  // The handle owning a port, or kNoOwner. A reader must confirm it under the owner's shard lock.
  uint32_t owner(size_t address, Nat66Proto p, uint16_t port) const noexcept {
    uint32_t v = slot(address, p, port).load(std::memory_order_acquire);
    return (v == 0 || (v & kResting)) ? kNoOwner : v - 1;
  }

 private:
  // Port state: 0 free; kResting | second (31 bits, wrapping) resting until that second; else owner + 1.
  static constexpr uint32_t kResting = 0x8000'0000u;
  static uint32_t second_of(uint64_t ms) noexcept { return static_cast<uint32_t>(ms / 1000) & ~kResting; }
  static bool is_free(uint32_t v, uint32_t now_s) noexcept {
    if (v == 0) return true;
    if (!(v & kResting)) return false;
    return ((now_s - (v & ~kResting)) & ~kResting) < 0x4000'0000u;  // now >= until, serial arithmetic
  }
  bool try_take(std::atomic<uint32_t>& s, uint32_t owner, uint32_t now_s) noexcept;
  std::atomic<uint32_t>& slot(size_t address, Nat66Proto p, uint16_t port) const noexcept {
    return table_[(address * kNat66ProtoCount + static_cast<size_t>(p)) << 16 | port];
  }

  Nat66Buffer<std::atomic<uint32_t>> table_;  // 768 KB per outside address
};

}  // namespace npt66
