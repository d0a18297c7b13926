#include "nat66_ports.h"

namespace npt66 {

Nat66Ports::Nat66Ports(size_t addresses)
    : table_(addresses * kNat66ProtoCount * 65536) {}

bool Nat66Ports::try_take(std::atomic<uint32_t>& s, uint32_t owner, uint32_t now_s) noexcept {
  uint32_t v = s.load(std::memory_order_relaxed);
  return is_free(v, now_s) && s.compare_exchange_strong(v, owner + 1, std::memory_order_acq_rel);
}

uint16_t Nat66Ports::claim(size_t address, Nat66Proto p, uint16_t preferred, uint16_t lo, uint16_t hi,
                           uint32_t start, uint32_t owner, uint64_t now_ms) noexcept {
  const uint32_t now_s = second_of(now_ms);
  if (preferred >= lo && preferred <= hi && try_take(slot(address, p, preferred), owner, now_s)) return preferred;
  const uint32_t size = uint32_t{hi} - lo + 1;
  uint32_t off = start % size;
  for (uint32_t i = 0; i < size; ++i, off = off + 1 == size ? 0 : off + 1) {
    uint16_t port = static_cast<uint16_t>(lo + off);
    if (try_take(slot(address, p, port), owner, now_s)) return port;
  }
  return 0;
}

void Nat66Ports::release(size_t address, Nat66Proto p, uint16_t port, uint64_t rest_until_ms) noexcept {
  // Round up to the next whole second so the rest is never shorter than asked.
  uint32_t until = (second_of(rest_until_ms) + 1) & ~kResting;
  slot(address, p, port).store(kResting | until, std::memory_order_release);
}

bool Nat66Ports::any_owned(size_t address, Nat66Proto p, uint16_t lo, uint16_t hi) const noexcept {
  for (uint32_t port = lo; port <= hi; ++port)
    if (owner(address, p, static_cast<uint16_t>(port)) != kNoOwner) return true;
  return false;
}

void Nat66Ports::clear(size_t address) noexcept {
  for (size_t p = 0; p < kNat66ProtoCount; ++p)
    for (uint32_t port = 0; port <= 0xFFFF; ++port)
      slot(address, static_cast<Nat66Proto>(p), static_cast<uint16_t>(port)).store(0, std::memory_order_relaxed);
}

}  // namespace npt66
