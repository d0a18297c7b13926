// The queue engine: one native thread per netfilter queue (first .. first+count-1, for --queue-balance),
// translating packets with the current NPTv6 table and the NAT66 masquerade tables, plus one housekeeping
// thread for the masquerade timers and mapping events. Plain C++: native/binding/engine.cc wraps it for JS.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "counters.h"
#include "engine_event.h"
#include "kernel_queue_stats.h"
#include "nat66_config.h"
#include "nat66_table.h"
#include "ndp_proxy.h"
#include "prefix_map.h"
#include "rate_limiter.h"
#include "outside_interfaces.h"
#include "table_slot.h"
#include "thread_placement.h"

namespace npt66::nfq {

class QueueWorker;
class NdpResponder;

// The engine's defaults, for callers that set no value (C++ tests, benchmarks, the addon when JS leaves an
// option out). The configuration's defaults live in the zod schema (src/gateway-config.ts) and must equal these:
// test/ts/defaults.test.ts compares them through the addon's engineDefaults. The ranges a user may write are
// the schema's; the engine refuses only what cannot work (std::invalid_argument, see Engine::Engine).
struct Options {
  uint16_t queue_first = 0;
  uint16_t queue_count = 1;
  uint32_t queue_max_len = 4096;          // NFQA_CFG_QUEUE_MAXLEN (the kernel's default is 1024); >= 1
  uint32_t socket_buffer_bytes = 8u << 20;  // SO_RCVBUFFORCE / SO_SNDBUFFORCE
  bool fail_open = false;                 // accept untranslatable packets untranslated (leaks inside addresses)
  // NFQA_CFG_F_GSO: GSO/GRO super-packets are queued whole, checksums handled per checksum_offload.h. Off, the
  // kernel segments them and completes checksums before queueing (one message per MTU-sized packet): only for
  // kernels older than 3.10 or to compare against.
  bool gso = true;
  // Queue threads' placement (thread_placement.h): thread i runs on queue_cpus[i % size] (empty: not pinned),
  // at nice `queue_nice` (-20..19) or, when queue_fifo_priority is 1..99, under SCHED_FIFO. Nice -20 by default:
  // under overload the threads then keep their CPU against ksoftirqd and ordinary tasks, and the scheduler
  // moves them off a CPU that receive work keeps busy (bench/README.md, "Overload").
  std::vector<int> queue_cpus;
  int queue_nice = -20;
  int queue_fifo_priority = 0;
  uint32_t icmp_rate_limit = 100;         // ICMPv6 errors per second, all queues together; 0 sends none
  std::shared_ptr<const PrefixTable> table;  // NPTv6; may hold no mapping (a masquerade-only host)
  // One NAT66 masquerade table per entry, built once and kept for the engine's life (set_table leaves them).
  std::vector<Nat66Config> masquerade;
  // Housekeeping: every interval, each table's expiry examines at most `expire_budget` mappings (incremental,
  // never a stop-the-world scan) and the mapping events queued since are handed over as one batch.
  std::chrono::milliseconds housekeeping_interval{100};
  size_t expire_budget = 65536;
  // The outside interfaces by name (the configuration's nptv6[].interface and masquerade[].interface): an inside
  // source arriving on one is forged and dropped (dispatch.h). Empty: hairpin is decided by the source alone.
  std::vector<std::string> outside_interfaces;
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
  uint64_t outbound_bytes = 0;  // IPv6 packet lengths of the translated packets
  uint64_t inbound_bytes = 0;
};

// One masquerade table's figures: live mappings by state and the packets it translated or dropped.
struct MasqueradeStats {
  uint32_t index = 0;
  Nat66Counts by_state;
  uint64_t outbound = 0;
  uint64_t inbound = 0;
  uint64_t dropped = 0;
  uint64_t outbound_bytes = 0;
  uint64_t inbound_bytes = 0;
};

// A live mapping as listed by Engine::mappings(); times are Unix epoch milliseconds.
struct MappingRecord {
  uint32_t masquerade = 0;
  Nat66MappingRecord record;
  std::vector<Nat66Remote> remotes;  // its live remotes (Nat66Table::snapshot), expiries in Unix ms
};

struct Stats {
  std::vector<QueueStats> queues;
  CounterSnapshot total{};  // the queues' counters plus the housekeeping thread's (nat66_mapping_expired, ...)
  std::vector<MappingStats> mappings;
  std::vector<MasqueradeStats> masquerade;
};

class Engine {
 public:
  // Throws std::invalid_argument for options that cannot work (no table, empty or overflowing queue range, a
  // masquerade entry that does not validate: the message starts with "masquerade[i]: ").
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

  // Any thread. Resolves the names now (and again about once a second while running, so an interface created
  // or re-created later is seen); a name with no interface yet is a warning event, not an error.
  void set_outside_interfaces(std::vector<std::string> names);

  // Any thread. Replaces masquerade table `index`'s source prefixes (Nat66Table::set_sources): packet threads
  // take them at their next receive batch; mappings of inside addresses no longer in any source are removed by
  // the housekeeping thread (nat66_mapping_unsourced, DESTROY events). Throws std::invalid_argument for a bad
  // index or prefixes the table refuses (the message says why); the sources are then unchanged.
  void set_masquerade_sources(uint32_t index, std::vector<Prefix> prefixes);

  // Any thread. Replaces masquerade table `index`'s port forwards (Nat66Table::set_forwards): packet threads see
  // the new set from their next packet; flows through a forward that went stop being translated (forwards keep no
  // state). Throws std::invalid_argument for a bad index or forwards the table refuses (the message says why);
  // the forwards are then unchanged.
  void set_masquerade_forwards(uint32_t index, std::vector<Nat66Forward> forwards);

  // Any thread. Masquerade table `index`'s tunables (Nat66Table::set_tunables: port range, privileged ports,
  // filtering, inbound refresh, timeouts, limits), with `forwards` its forwards too, checked together; live
  // mappings stay. Throws std::invalid_argument like set_masquerade_sources; nothing is then changed.
  void set_masquerade_tunables(uint32_t index, const Nat66Tunables& t, const std::vector<Nat66Forward>* forwards);

  // Any thread. Whether a mapping of table `index` holds a TCP or UDP outside port of [lo, hi]
  // (Nat66Table::holds_ports: a scan, for rare calls). Throws std::invalid_argument for a bad index.
  bool masquerade_holds_ports(uint32_t index, uint16_t lo, uint16_t hi) const;

  // Any thread. The proxy NDP entries in force (ndp_responder.h): the responder thread starts with the first
  // non-empty list and answers by each new one from then on; an empty list closes its sockets (the thread and
  // its counters stay until stop()). Throws std::invalid_argument (entries unchanged) when they do not compile,
  // std::system_error when the responder cannot start.
  void set_proxy_ndp(std::vector<NdpProxyEntry> entries);

  // Any thread. Masquerade table `index`'s outside addresses (Nat66Table::set_outside): new flows take one of
  // `use`, mappings on `keep` live on, those on any other address are removed by the housekeeping thread
  // (nat66_mapping_address_gone). Throws std::invalid_argument like set_masquerade_sources.
  void set_masquerade_outside(uint32_t index, const std::vector<Address>& use, const std::vector<Address>& keep);

  // Counters summed over the queue threads, with the kernel's figures. Call from one thread at a time
  // (the thread that calls start()).
  Stats snapshot() const;

  // Every live masquerade mapping, table by table (each table shard by shard: not one instant). Any thread.
  std::vector<MappingRecord> mappings() const;

  // Blocking: every thread drains until its queue has been quiet for `drain`, gives every packet a verdict,
  // unbinds and exits; then they are joined. Idempotent; safe to call from any one thread.
  void stop(std::chrono::milliseconds drain);

 private:
  void emit(Event::Type type, std::string message, int queue = -1) const noexcept;
  Nat66Table& masquerade_at(uint32_t index) const;  // throws std::invalid_argument naming a bad index
  void housekeeping() noexcept;                // the housekeeping thread's body
  void expire_and_deliver(uint64_t now_ms) noexcept;
  void resolve_outside_interfaces(bool warn) noexcept;  // the names in outside_names_ -> outside_
  void resolve_outdevs() noexcept;  // the uplinks' interfaces in the current table -> their ifindexes now

  Options options_;
  EventSink emit_;
  TableSlot table_;
  OutsideSlot outside_;
  std::mutex outside_mutex_;  // outside_names_, and one resolution at a time
  std::vector<std::string> outside_names_;
  std::vector<std::unique_ptr<Nat66Table>> masquerade_;
  RateLimiter icmp_limiter_;
  mutable std::mutex ndp_mutex_;              // ndp_: set_proxy_ndp, snapshot and stop may run on different threads
  std::unique_ptr<NdpResponder> ndp_;         // proxy NDP, from the first set_proxy_ndp with entries until stop()
  CounterSnapshot ndp_final_{};               // its counters when stop() ended it
  bool ndp_stopped_ = false;                  // stop() ran: set_proxy_ndp does nothing (under ndp_mutex_)
  std::vector<std::unique_ptr<QueueWorker>> workers_;
  std::vector<std::thread> threads_;
  std::thread housekeeper_;
  std::mutex housekeeping_mutex_;
  std::condition_variable housekeeping_wake_;
  bool housekeeping_stop_ = false;
  alignas(64) CounterBlock housekeeping_counters_;
  std::vector<Nat66MappingEvent> drained_;  // housekeeping thread only (and stop() after it joined)
  std::mutex lifecycle_;
  enum class State { idle, running, stopped } state_ = State::idle;
};

}  // namespace npt66::nfq
