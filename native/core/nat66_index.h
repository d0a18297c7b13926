// Open-addressing hash index from a 32-bit hash tag to a slot number: linear probing, load <= 1/2,
// backward-shift deletion (no tombstones, so lookups stay short however much the table churns).
// The caller confirms a candidate slot against its own key. Not thread-safe: the shard lock guards it.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "nat66_memory.h"

namespace npt66 {

class Nat66Index {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  Nat66Index() : buckets_(kInitialBuckets), mask_(kInitialBuckets - 1) {}  // may throw bad_alloc

  // The slot stored under `tag` for which match(slot) is true, or kNone.
  template <class Match>
  uint32_t find(uint32_t tag, Match&& match) const noexcept {
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Bucket& b = buckets_[i];
      if (b.slot_plus1 == 0) return kNone;
      if (b.tag == tag && match(b.slot_plus1 - 1)) return b.slot_plus1 - 1;
    }
  }

  // Calls f(slot) for every slot stored under `tag`, without confirming any key (for prefetching entries).
  template <class F>
  void for_each_tagged(uint32_t tag, F&& f) const noexcept {
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Bucket& b = buckets_[i];
      if (b.slot_plus1 == 0) return;
      if (b.tag == tag) f(b.slot_plus1 - 1);
    }
  }

  // Adds (tag, slot); grows first if needed (may throw std::bad_alloc, leaving the index unchanged).
  void insert(uint32_t tag, uint32_t slot);

  // Removes the entry (tag, slot) if present.
  void erase(uint32_t tag, uint32_t slot) noexcept;

  size_t size() const noexcept { return count_; }

 private:
  static constexpr size_t kInitialBuckets = 64;
  struct Bucket {
    uint32_t tag = 0;
    uint32_t slot_plus1 = 0;  // 0 = empty
  };
  void place(uint32_t tag, uint32_t slot_plus1) noexcept;

  Nat66Buffer<Bucket> buckets_;  // huge pages once it is big
  size_t mask_;
  size_t count_ = 0;
};

}  // namespace npt66
