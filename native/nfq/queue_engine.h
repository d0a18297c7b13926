// The queue engine: one native thread per netfilter queue (first .. first+count-1, for --queue-balance),
// translating packets with the current table. Plain C++: native/binding/engine.cc wraps it for JS.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "counters.h"
#include "engine_event.h"
#include "kernel_queue_stats.h"
#include "prefix_map.h"
#include "rate_limiter.h"
#include "table_slot.h"

namespace npt66::nfq {

class QueueWorker;

struct Options {
  uint16_t queue_first = 0;
  uint16_t queue_count = 1;
  uint32_t queue_max_len = 4096;          // NFQA_CFG_QUEUE_MAXLEN (the kernel's default is 1024)
  uint32_t socket_buffer_bytes = 8u << 20;  // SO_RCVBUFFORCE / SO_SNDBUFFORCE
  bool fail_open = false;                 // accept untranslatable packets untranslated (leaks inside addresses)
  uint32_t icmp_rate_limit = 100;         // ICMPv6 errors per second, all queues together; 0 sends none
  std::shared_ptr<const PrefixTable> table;
};

struct QueueStats {
  uint16_t queue = 0;
  CounterSnapshot counters{};
  std::optional<KernelQueueFigures> kernel;  // absent when the queue is not bound by this engine
};

struct MappingStats {
  uint32_t index = 0;
  uint64_t outbound = 0;
  uint64_t inbound = 0;
  uint64_t dropped = 0;
};

struct Stats {
  std::vector<QueueStats> queues;
  CounterSnapshot total{};
  std::vector<MappingStats> mappings;
};

class Engine {
 public:
  // Throws std::invalid_argument for options that cannot work (no table, empty or overflowing queue range).
  Engine(Options options, EventSink emit);
  // Stops without a drain period if still running.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Binds every queue and configures it (COPY_PACKET, max length, flags) before starting any thread, so the
  // rules can be installed once this returns. Throws QueueError and leaves nothing bound. Only once per engine.
  void start();

  // Any thread. Packet threads take the new table at their next receive batch.
  void set_table(std::shared_ptr<const PrefixTable> table);

  // Counters summed over the queue threads, with the kernel's figures. Call from one thread at a time
  // (the thread that calls start()).
  Stats snapshot() const;

  // Blocking: every thread drains until its queue has been quiet for `drain`, gives every packet a verdict,
  // unbinds and exits; then they are joined. Idempotent; safe to call from any one thread.
  void stop(std::chrono::milliseconds drain);

 private:
  void emit(Event::Type type, std::string message, int queue = -1) const noexcept;

  Options options_;
  EventSink emit_;
  TableSlot table_;
  RateLimiter icmp_limiter_;
  std::vector<std::unique_ptr<QueueWorker>> workers_;
  std::vector<std::thread> threads_;
  std::mutex lifecycle_;
  enum class State { idle, running, stopped } state_ = State::idle;
};

}  // namespace npt66::nfq
