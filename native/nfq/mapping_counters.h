// Per-mapping packet counts (outbound, inbound, dropped) and the bytes translated each way, one block per queue
// thread, summed on demand.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace npt66::nfq {

class MappingCounters {
 public:
  // Mappings past this index are still translated and counted in the totals, just not per mapping.
  static constexpr size_t kCapacity = 4096;
  enum Field : size_t { outbound = 0, inbound = 1, dropped = 2, outbound_bytes = 3, inbound_bytes = 4, kFields = 5 };

  MappingCounters() : v_(new std::atomic<uint64_t>[kCapacity * kFields]()) {}

  // One writer (the queue's thread): a relaxed load + store is a plain add on x86.
  void add(uint32_t index, Field f, uint64_t amount = 1) noexcept {
    if (index >= kCapacity) return;
    auto& slot = v_[index * kFields + f];
    slot.store(slot.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }
  uint64_t get(uint32_t index, Field f) const noexcept {
    return index < kCapacity ? v_[index * kFields + f].load(std::memory_order_relaxed) : 0;
  }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> v_;
};

}  // namespace npt66::nfq
