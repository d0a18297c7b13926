#include "nat66_index.h"

#include <utility>

namespace npt66 {

void Nat66Index::place(uint32_t tag, uint32_t slot_plus1) noexcept {
  size_t i = tag & mask_;
  while (buckets_[i].slot_plus1 != 0) i = (i + 1) & mask_;
  buckets_[i] = {tag, slot_plus1};
}

void Nat66Index::insert(uint32_t tag, uint32_t slot) {
  if ((count_ + 1) * 2 > buckets_.size()) {
    Nat66Buffer<Bucket> old(buckets_.size() * 2);  // allocate before touching anything
    std::swap(old, buckets_);
    mask_ = buckets_.size() - 1;
    for (size_t i = 0; i < old.size(); ++i)
      if (old[i].slot_plus1 != 0) place(old[i].tag, old[i].slot_plus1);
  }
  place(tag, slot + 1);
  ++count_;
}

void Nat66Index::erase(uint32_t tag, uint32_t slot) noexcept {
  size_t i = tag & mask_;
  for (;; i = (i + 1) & mask_) {
    if (buckets_[i].slot_plus1 == 0) return;
    if (buckets_[i].slot_plus1 == slot + 1) break;
  }
  // Backward shift: pull later members of the probe run into the hole while that keeps each reachable
  // from its home bucket (Knuth vol. 3, algorithm 6.4R).
  size_t hole = i;
  for (size_t j = (hole + 1) & mask_; buckets_[j].slot_plus1 != 0; j = (j + 1) & mask_) {
    size_t home = buckets_[j].tag & mask_;
    bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      buckets_[hole] = buckets_[j];
      hole = j;
    }
  }
  buckets_[hole] = {};
  --count_;
}

}  // namespace npt66
