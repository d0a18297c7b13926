#include "nat66_host_limit.h"

#include <mutex>

namespace npt66 {

bool Nat66HostLimit::acquire(uint64_t prefix64) {
  Shard& s = shard_of(prefix64);
  std::lock_guard guard(s.lock);
  uint32_t& n = s.counts[prefix64];  // may throw std::bad_alloc before counting
  if (n >= limit_.load(std::memory_order_relaxed)) return false;
  ++n;
  return true;
}

void Nat66HostLimit::release(uint64_t prefix64) noexcept {
  Shard& s = shard_of(prefix64);
  std::lock_guard guard(s.lock);
  auto it = s.counts.find(prefix64);
  if (it == s.counts.end()) return;
  if (--it->second == 0) s.counts.erase(it);
}

uint32_t Nat66HostLimit::used(uint64_t prefix64) const {
  Shard& s = shard_of(prefix64);
  std::lock_guard guard(s.lock);
  auto it = s.counts.find(prefix64);
  return it == s.counts.end() ? 0 : it->second;
}

}  // namespace npt66
