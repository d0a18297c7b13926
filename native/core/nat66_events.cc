#include "nat66_events.h"

#include <algorithm>
#include <mutex>

namespace npt66 {

size_t Nat66EventQueue::push(const Nat66MappingEvent* events, size_t n) noexcept {
  std::lock_guard guard(lock_);
  size_t fit = queue_.size() >= capacity_ ? 0 : std::min(n, capacity_ - queue_.size());
  try {
    queue_.insert(queue_.end(), events, events + fit);
  } catch (...) {  // out of memory: lose the events, never the packet
    return n;
  }
  return n - fit;
}

size_t Nat66EventQueue::drain(std::vector<Nat66MappingEvent>& out) {
  std::vector<Nat66MappingEvent> taken;
  {
    std::lock_guard guard(lock_);
    taken.swap(queue_);
  }
  // Copying happens outside the lock, so producers only ever wait for a swap.
  size_t n = taken.size();
  if (out.empty())
    out.swap(taken);
  else
    out.insert(out.end(), taken.begin(), taken.end());
  return n;
}

}  // namespace npt66
