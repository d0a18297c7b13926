// The NAT66 table's timer wheel and housekeeping: deadlines filed by the second (shard lock held), incremental
// expiry within a budget, and the full scan that drops mappings of a source prefix that was removed.
#include <algorithm>
#include <mutex>

#include "nat66_shard.h"

namespace npt66 {

// --- timer wheel (shard lock held) ---

void Nat66Table::wheel_link(Shard& s, uint32_t slot, uint64_t now_ms) noexcept {
  if (!s.cursor_set) {
    s.cursor = now_ms / 1000;
    s.cursor_set = true;
  }
  Entry& e = s.at(slot);
  e.wheel_tick = std::clamp(e.expires_ms / 1000, s.cursor, s.cursor + kWheel - 1);
  uint32_t& head = s.wheel[e.wheel_tick % kWheel];
  e.wheel_prev = 0;
  e.wheel_next = head;
  if (head != 0) s.at(head - 1).wheel_prev = slot + 1;
  head = slot + 1;
}

void Nat66Table::wheel_unlink(Shard& s, uint32_t slot) noexcept {
  Entry& e = s.at(slot);
  if (e.wheel_prev != 0)
    s.at(e.wheel_prev - 1).wheel_next = e.wheel_next;
  else
    s.wheel[e.wheel_tick % kWheel] = e.wheel_next;
  if (e.wheel_next != 0) s.at(e.wheel_next - 1).wheel_prev = e.wheel_prev;
  e.wheel_prev = e.wheel_next = 0;
}

// --- housekeeping ---

namespace {
// Mapping events made while a shard lock is held: handed over every kSize, with the lock let go meanwhile so the
// queue threads are not kept waiting, and once more at the end. `next()` is null when events are off.
class LockedEvents {
 public:
  explicit LockedEvents(bool on) noexcept : on_(on) {}
  Nat66MappingEvent* next() noexcept { return on_ ? &events_[n_] : nullptr; }
  template <class Guard, class Publish>
  void added(Guard& guard, Publish&& publish) noexcept {
    if (!on_ || ++n_ < kSize) return;
    guard.unlock();
    publish(events_, n_);
    n_ = 0;
    guard.lock();
  }
  template <class Publish>
  void flush(Publish&& publish) noexcept {
    publish(events_, n_);
    n_ = 0;
  }

 private:
  static constexpr size_t kSize = 64;
  const bool on_;
  Nat66MappingEvent events_[kSize];
  size_t n_ = 0;
};
}  // namespace

size_t Nat66Table::expire(uint64_t now_ms, size_t budget, CounterBlock& counters) noexcept {
  const uint64_t now_s = now_ms / 1000;
  size_t removed = 0;
  LockedEvents events(config_.event_capacity != 0);
  auto publish = [&](const Nat66MappingEvent* e, size_t n) { this->publish(e, n, counters); };
  const uint32_t first = expire_next_shard_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < kShards && budget > 0; ++i) {
    Shard& s = shards_[(first + i) % kShards];
    std::unique_lock guard(s.lock);
    if (!s.cursor_set) continue;
    // A bucket is processed once its second has fully passed, so every entry in it is due (or was put there
    // by clamping and is re-filed). Far behind, one lap of buckets covers every deadline.
    while (budget > 0 && s.cursor < now_s) {
      if (now_s - s.cursor > kWheel) s.cursor = now_s - kWheel;
      uint32_t head = s.wheel[s.cursor % kWheel];
      if (head == 0) {
        ++s.cursor;
        continue;
      }
      uint32_t slot = head - 1;
      wheel_unlink(s, slot);
      --budget;
      Entry& e = s.at(slot);
      if (e.expires_ms > now_ms) {
        // Refreshed since it was filed: forget the remotes that expired meanwhile (bounding a mapping's
        // memory by its live remotes, give or take one timer), settle a TCP mapping's state (an established
        // connection may have timed out), and file it again, further on.
        if (e.far != nullptr) e.far->sweep(now_ms);
        if (e.proto == Nat66Proto::tcp) {
          Nat66State before = e.state;
          settle(e, now_ms);
          if (Nat66MappingEvent* ev = events.next(); ev != nullptr && e.state != before) {
            *ev = Nat66MappingEvent{Nat66EventType::updated, now_ms, {}};
            record(e, now_ms, ev->mapping);
            events.added(guard, publish);
          }
        }
        wheel_link(s, slot, now_ms);
      } else {
        destroy_locked(s, slot, now_ms, events.next());
        ++removed;
        events.added(guard, publish);
      }
    }
  }
  events.flush(publish);
  if (removed) counters.add(Counter::nat66_mapping_expired, removed);
  return removed;
}

size_t Nat66Table::remove_stale(uint64_t now_ms, CounterBlock& counters) noexcept {
  if (stale_passes_.load(std::memory_order_acquire) == 0) return 0;
  stale_passes_.fetch_sub(1, std::memory_order_acq_rel);
  const Nat66SourcesPtr sources = this->sources();
  size_t unsourced = 0, address_gone = 0;
  LockedEvents events(config_.event_capacity != 0);
  auto publish = [&](const Nat66MappingEvent* e, size_t n) { this->publish(e, n, counters); };
  // A full scan, rare (a source or an outside address removed): each shard's lock is let go every 64 removals
  // for its packets.
  for (size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
    std::unique_lock guard(s.lock);
    for (uint32_t slot = 0; slot < s.high_water; ++slot) {
      Entry& e = s.at(slot);
      if (!e.live) continue;
      if (pool_.retiring(e.pool))
        ++address_gone;
      else if (!sources->contains(e.inside))
        ++unsourced;
      else
        continue;
      wheel_unlink(s, slot);
      destroy_locked(s, slot, now_ms, events.next());
      events.added(guard, publish);
    }
  }
  events.flush(publish);
  if (unsourced) counters.add(Counter::nat66_mapping_unsourced, unsourced);
  if (address_gone) counters.add(Counter::nat66_mapping_address_gone, address_gone);
  // The second pass done and no change since: a retired address's slot has no mapping left (the first pass took
  // them, the second any a packet thread made with the address it had chosen just before): its ports are
  // cleared (their quarantine belonged to the address that went) and it is free for the next address.
  {
    std::lock_guard lock(change_mutex_);
    if (stale_passes_.load(std::memory_order_acquire) == 0) {
      for (size_t slot : pool_.retiring_slots()) {
        ports_.clear(slot);
        pool_.free_slot(slot);
      }
    }
  }
  return unsourced + address_gone;
}

}  // namespace npt66
