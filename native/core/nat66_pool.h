// A masquerade table's outside addresses (its pool), changeable while the table runs: an entry whose address
// follows its interface (issue 10: the interface's stable global address changes) or a reload that gives a new
// address. Each address lives in a slot; a mapping names its slot (Entry::pool), so the port ownership array
// (nat66_ports.h) stays indexed by slot and an address change never moves a mapping.
//
// Slot states:
// - use:  new flows take this address (paired pooling among the `use` slots, RFC 4787 REQ-2);
// - keep: the address is still on the host (e.g. deprecated), so its live mappings live on; no new flows;
// - retiring: the address went; inbound to it is no longer matched, its mappings are removed by the table's
//   next two stale passes (Nat66Table::remove_stale), then the slot's ports are cleared and it is free again;
// - free.
// Readers (any packet thread) never lock: a slot's address is written only while the slot is free, and a slot
// becomes free only after two stale passes (the grace a reader that saw it in use needs, as for set_sources).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ipv6.h"

namespace npt66 {

class Nat66Pool {
 public:
  static constexpr size_t kMaxSlots = 64;  // bits of the use mask
  // Spare slots beyond the first addresses: room for addresses in flight (kept or retiring) during changes.
  static constexpr size_t kSpareSlots = 3;

  // `initial` in use; capacity initial.size() + kSpareSlots (at most kMaxSlots; validate() checks the size).
  explicit Nat66Pool(const std::vector<Address>& initial);

  size_t capacity() const noexcept { return capacity_; }

  // The slot whose address is `a` and in use or kept, else -1. A handful of slots: a scan.
  int index_of(const Address& a) const noexcept {
    for (size_t i = 0; i < capacity_; ++i) {
      const Slot& s = slots_[i];
      const uint8_t st = s.state.load(std::memory_order_acquire);
      if ((st == kUse || st == kKeep) && s.high.load(std::memory_order_relaxed) == a.high64() &&
          s.low.load(std::memory_order_relaxed) == a.low64())
        return static_cast<int>(i);
    }
    return -1;
  }

  // The slot new flows from an inside host with hash `h` take (paired pooling: the same host, the same address
  // while the set in use does not change), or -1 when no address is in use (new flows are refused).
  int choose(uint64_t h) const noexcept;

  Address address(size_t slot) const noexcept;
  bool retiring(size_t slot) const noexcept { return slots_[slot].state.load(std::memory_order_acquire) == kRetiring; }
  bool any_retiring() const noexcept { return retiring_.load(std::memory_order_acquire) != 0; }

  // Makes `use` the addresses new flows take and `keep` those whose mappings live on; every other address goes
  // (retiring). The caller has validated them (validate_outside, nat66_config.h). Empty if done, otherwise why
  // not (no free slot: too many changes before the stale passes freed the last ones) and nothing changed.
  // Single writer: callers serialize set() and free_slot() (the table does).
  std::string set(const std::vector<Address>& use, const std::vector<Address>& keep);

  // The retiring slots, now free (their mappings are gone): the caller clears their ports first.
  std::vector<size_t> retiring_slots() const;
  void free_slot(size_t slot) noexcept;

  // The addresses in use, then kept (for records and tests).
  std::vector<Address> in_use() const;
  std::vector<Address> kept() const;

 private:
  static constexpr uint8_t kFree = 0, kUse = 1, kKeep = 2, kRetiring = 3;
  struct Slot {
    std::atomic<uint8_t> state{kFree};
    std::atomic<uint64_t> high{0}, low{0};
  };
  std::vector<Address> with_state(uint8_t st) const;

  size_t capacity_;
  Slot slots_[kMaxSlots];
  std::atomic<uint64_t> use_mask_{0};  // bit i: slot i in use
  std::atomic<uint32_t> retiring_{0};  // slots retiring
};

}  // namespace npt66
