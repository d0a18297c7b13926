#include "nat66_pool.h"

#include <algorithm>
#include <bit>

namespace npt66 {

Nat66Pool::Nat66Pool(const std::vector<Address>& initial)
    : capacity_(std::min(initial.size() + kSpareSlots, kMaxSlots)) {
  uint64_t mask = 0;
  for (size_t i = 0; i < initial.size() && i < capacity_; ++i) {
    slots_[i].high.store(initial[i].high64(), std::memory_order_relaxed);
    slots_[i].low.store(initial[i].low64(), std::memory_order_relaxed);
    slots_[i].state.store(kUse, std::memory_order_release);
    mask |= uint64_t{1} << i;
  }
  use_mask_.store(mask, std::memory_order_release);
}

int Nat66Pool::choose(uint64_t h) const noexcept {
  uint64_t mask = use_mask_.load(std::memory_order_acquire);
  if (mask == 0) return -1;
  if ((mask & (mask - 1)) == 0) return std::countr_zero(mask);
  // The k-th set bit, k = h mod popcount.
  for (int k = static_cast<int>(h % static_cast<uint64_t>(std::popcount(mask))); k > 0; --k) mask &= mask - 1;
  return std::countr_zero(mask);
}

Address Nat66Pool::address(size_t slot) const noexcept {
  Address a;
  store_be64(a.b.data(), slots_[slot].high.load(std::memory_order_relaxed));
  store_be64(a.b.data() + 8, slots_[slot].low.load(std::memory_order_relaxed));
  return a;
}

std::string Nat66Pool::set(const std::vector<Address>& use, const std::vector<Address>& keep) {
  std::vector<Address> all = use;
  all.insert(all.end(), keep.begin(), keep.end());
  // Where each address goes: its current slot (use or keep), else its slot still retiring (an address that went
  // and came back keeps its mappings and is never in two slots, whose ports would be claimed twice), else a free one.
  std::vector<int> slot_of(all.size(), -1);
  std::vector<bool> taken(capacity_, false);
  for (size_t i = 0; i < all.size(); ++i) {
    slot_of[i] = index_of(all[i]);
    for (size_t s = 0; slot_of[i] < 0 && s < capacity_; ++s)
      if (retiring(s) && address(s) == all[i]) slot_of[i] = static_cast<int>(s);
    if (slot_of[i] >= 0) taken[static_cast<size_t>(slot_of[i])] = true;
  }
  for (size_t i = 0; i < all.size(); ++i) {
    if (slot_of[i] >= 0) continue;
    for (size_t s = 0; s < capacity_; ++s) {
      if (!taken[s] && slots_[s].state.load(std::memory_order_acquire) == kFree) {
        slot_of[i] = static_cast<int>(s);
        taken[s] = true;
        break;
      }
    }
    if (slot_of[i] < 0)
      return "masquerade: no free slot for a new outside address: " + std::to_string(capacity_) +
             " addresses are in use, kept or still being retired; try again in a second";
  }
  // Commit: retire what is not wanted, then publish the new slots (address before state, state before mask).
  uint64_t mask = 0;
  for (size_t s = 0; s < capacity_; ++s) {
    const uint8_t st = slots_[s].state.load(std::memory_order_acquire);
    if (!taken[s] && (st == kUse || st == kKeep)) {
      slots_[s].state.store(kRetiring, std::memory_order_release);
      retiring_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  for (size_t i = 0; i < all.size(); ++i) {
    Slot& s = slots_[static_cast<size_t>(slot_of[i])];
    s.high.store(all[i].high64(), std::memory_order_relaxed);
    s.low.store(all[i].low64(), std::memory_order_relaxed);
    if (s.state.exchange(i < use.size() ? kUse : kKeep, std::memory_order_acq_rel) == kRetiring)
      retiring_.fetch_sub(1, std::memory_order_acq_rel);  // revived
    if (i < use.size()) mask |= uint64_t{1} << slot_of[i];
  }
  use_mask_.store(mask, std::memory_order_release);
  return {};
}

std::vector<size_t> Nat66Pool::retiring_slots() const {
  std::vector<size_t> out;
  for (size_t s = 0; s < capacity_; ++s)
    if (retiring(s)) out.push_back(s);
  return out;
}

void Nat66Pool::free_slot(size_t slot) noexcept {
  if (slots_[slot].state.exchange(kFree, std::memory_order_acq_rel) == kRetiring)
    retiring_.fetch_sub(1, std::memory_order_acq_rel);
}

std::vector<Address> Nat66Pool::with_state(uint8_t st) const {
  std::vector<Address> out;
  for (size_t s = 0; s < capacity_; ++s)
    if (slots_[s].state.load(std::memory_order_acquire) == st) out.push_back(address(s));
  return out;
}

std::vector<Address> Nat66Pool::in_use() const { return with_state(kUse); }
std::vector<Address> Nat66Pool::kept() const { return with_state(kKeep); }

}  // namespace npt66
