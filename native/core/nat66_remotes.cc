#include "nat66_remotes.h"

#include <cstdlib>
#include <new>

namespace npt66 {
namespace {
constexpr size_t kFirstCapacity = 16;  // room for 8 remotes at load 1/2

uint64_t mix(uint64_t a, uint64_t b) noexcept {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

Nat66Remote* allocate(size_t n) {
  void* p = std::calloc(n, sizeof(Nat66Remote));  // all zero: every slot empty (expires_ms 0)
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<Nat66Remote*>(p);
}
}  // namespace

Nat66RemoteTable::~Nat66RemoteTable() { std::free(slots_); }

size_t Nat66RemoteTable::home(const Address& a) const noexcept {
  uint64_t hi, lo;
  std::memcpy(&hi, a.b.data(), 8);
  std::memcpy(&lo, a.b.data() + 8, 8);
  return mix(hi ^ key0_, lo ^ key1_) & (capacity_ - 1);
}

Nat66Remote* Nat66RemoteTable::find(const Address& a, uint16_t port, bool match_port) noexcept {
  if (count_ == 0) return nullptr;
  for (size_t i = home(a);; i = (i + 1) & (capacity_ - 1)) {
    Nat66Remote& r = slots_[i];
    if (r.empty()) return nullptr;
    if (r.addr == a && (!match_port || r.port == port)) return &r;
  }
}

const Nat66Remote* Nat66RemoteTable::find_live(const Address& a, uint64_t now_ms) const noexcept {
  if (count_ == 0) return nullptr;
  for (size_t i = home(a);; i = (i + 1) & (capacity_ - 1)) {
    const Nat66Remote& r = slots_[i];
    if (r.empty()) return nullptr;
    if (r.addr == a && r.live(now_ms)) return &r;
  }
}

void Nat66RemoteTable::place(const Nat66Remote& r) noexcept {
  size_t i = home(r.addr);
  while (!slots_[i].empty()) i = (i + 1) & (capacity_ - 1);
  slots_[i] = r;
  ++count_;
  earliest_ = r.expires_ms < earliest_ ? r.expires_ms : earliest_;
}

Nat66Remote* Nat66RemoteTable::insert(const Nat66Remote& r) {
  if ((count_ + 1) * 2 > capacity_) {
    size_t grown = capacity_ == 0 ? kFirstCapacity : capacity_ * 2;
    Nat66Remote* old = slots_;
    size_t old_capacity = capacity_;
    slots_ = allocate(grown);  // throws before anything changed
    capacity_ = grown;
    count_ = 0;
    for (size_t i = 0; i < old_capacity; ++i)
      if (!old[i].empty()) place(old[i]);
    std::free(old);
  }
  place(r);
  return find(r.addr, r.port, true);
}

// Backward-shift deletion (Knuth 6.4 Algorithm R): later members of the probe run move up into the hole
// when their home position allows, so lookups never meet a tombstone.
void Nat66RemoteTable::erase_at(size_t i) noexcept {
  const size_t mask = capacity_ - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; !slots_[j].empty(); j = (j + 1) & mask) {
    size_t h = home(slots_[j].addr);
    // slots_[j] may move to `hole` unless its home lies cyclically in (hole, j].
    bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Nat66Remote{};
  --count_;
}

size_t Nat66RemoteTable::sweep(uint64_t now_ms) noexcept {
  if (now_ms < earliest_) return 0;
  size_t removed = 0;
  for (size_t i = 0; i < capacity_;) {
    if (!slots_[i].empty() && !slots_[i].live(now_ms)) {
      erase_at(i);  // a later remote may have moved into i: look at it again
      ++removed;
      continue;
    }
    ++i;
  }
  earliest_ = UINT64_MAX;
  for (size_t i = 0; i < capacity_; ++i)
    if (!slots_[i].empty() && slots_[i].expires_ms < earliest_) earliest_ = slots_[i].expires_ms;
  return removed;
}

size_t Nat66RemoteTable::live(uint64_t now_ms) const noexcept {
  size_t n = 0;
  for (size_t i = 0; i < capacity_; ++i) n += slots_[i].live(now_ms);
  return n;
}

}  // namespace npt66
