// Bounded queue of mapping events between the packet threads (producers) and the engine (one consumer that
// drains in batches). A push takes a short spinlock and never waits for the consumer; when the queue is
// full the event is dropped and the producer counts it (nat66_event_overflow).
#pragma once
#include <cstddef>
#include <vector>

#include "nat66_spinlock.h"
#include "nat66_types.h"

namespace npt66 {

class Nat66EventQueue {
 public:
  explicit Nat66EventQueue(size_t capacity) : capacity_(capacity) {}

  // Appends as many of `events` as fit; returns how many did not.
  size_t push(const Nat66MappingEvent* events, size_t n) noexcept;

  // Moves every queued event to the end of `out`; returns how many.
  size_t drain(std::vector<Nat66MappingEvent>& out);

 private:
  Nat66Spinlock lock_;
  std::vector<Nat66MappingEvent> queue_;
  size_t capacity_;
};

}  // namespace npt66
