// The NAT66 masquerade table (REFERENCE s4): mappings (protocol, inside address, inside port or ICMPv6 echo id)
// <-> (outside address, outside port/id), shared by every queue thread.
//
// Behaviour:
// - Endpoint-independent mapping (RFC 4787 REQ-1, RFC 5382 REQ-1): one inside endpoint keeps one outside port
//   whatever the remote. Paired pooling (RFC 4787 REQ-2): an inside address always uses the same outside address.
// - Port choice (Linux nf_nat_core's idea): keep the inside port if it is free and in the range that applies,
//   otherwise scan that range from a random offset. Inside ports 1..1023 map into 1..1023; all other ports and
//   echo ids map into [port_min, port_max] (a port outside that range would not be queued inbound and could
//   collide with the host's own sockets).
// - Remotes (nat66_remotes.h): each mapping remembers every remote address its inside endpoint sends to (TCP:
//   every remote endpoint, one connection each), each with its own deadline, refreshed by outbound packets to
//   it (and inbound ones from it when config.inbound_refresh, RFC 4787 REQ-6). The first four live in the
//   entry itself, further ones in a hash set of the mapping's own. At most config.max_remotes_per_mapping live
//   ones: an outbound packet to one more is refused (drop_nat66_remote_limit, a LIMIT event at most every
//   10 s per table); none is evicted.
// - Filtering (RFC 4787 s5): endpoint-independent, or address-dependent (default, RFC 4787 REQ-8, RFC 5382
//   REQ-3): inbound packets only from a live remote's address.
// - Timers: UDP, ICMPv6 echo, TCP transitory/established (state per connection from SYN/FIN/RST, see
//   nat66_table.cc). A mapping's deadline is the latest of its remotes'; a TCP mapping is established while any
//   of its connections is. ICMPv6 errors and lookups never refresh. A mapping past its deadline no longer
//   matches inbound traffic; an outbound packet before it is reaped revives it. expire() reaps incrementally
//   from a per-shard timer wheel (1 s buckets), at most `budget` mappings examined per call, within about 2 s
//   after the deadline plus the caller's call interval; a mapping it finds refreshed forgets its expired remotes.
// - Limits (RFC 6888): config.max_mappings in all, config.max_per_64 per inside /64; a refused new flow gets a
//   drop reason for which nat66_answer_admin_prohibited() is true. Live mappings are never evicted. A freed
//   port rests config.port_quarantine_ms before reuse.
// - Tunables (Nat66Tunables: port range, privileged ports, filtering, inbound refresh, timeouts, limits) change
//   while running (set_tunables, a reload), and every live mapping stays:
//   - port range / privileged ports: new mappings take ports from the new range; a mapping holding a port
//     outside it keeps that port (its inbound packets still match) until it expires.
//   - timeouts: each refresh after the change grants the new timeout; a deadline already granted stands (a
//     lowered UDP/ICMP timeout shortens a mapping only once its earlier deadline has passed).
//   - limits (max_mappings, max_per_64, max_remotes_per_mapping): a new mapping or remote beyond a lowered limit
//     is refused as at the limit; nothing is evicted.
//   - filtering, inbound refresh: from the next inbound packet.
//   Each is read per packet with one relaxed atomic load (the port range, privileged ports, filtering and
//   inbound refresh share one 64-bit word, so a packet never sees half a range).
//
// Threading: every public member is safe to call from any number of threads at once. Mappings live in 16
// shards chosen by a keyed hash of the inside key, each under a spinlock held for a few dozen instructions;
// the outside direction needs no hash (the port ownership array maps outside address+port to the mapping).
// Big arrays are put on transparent huge pages (nat66_memory.h): at a million mappings a lookup is otherwise
// dominated by TLB misses.
// No call blocks on another beyond those shard locks; events go to a bounded queue (overflow is counted).
// Time is always passed in by the caller (milliseconds on any monotonic clock, the same clock everywhere).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "counters.h"
#include "nat66_config.h"
#include "nat66_events.h"
#include "nat66_forwards.h"
#include "nat66_host_limit.h"
#include "nat66_pool.h"
#include "nat66_ports.h"
#include "nat66_remotes.h"
#include "nat66_sources.h"
#include "nat66_types.h"
#include "verdict.h"

namespace npt66 {

enum class Nat66Lookup : uint8_t {
  found,     // a live mapping; the binding is filled in
  absent,    // no live mapping
  filtered,  // a live mapping, but the remote may not reach it (address-dependent filtering)
};

class Nat66Table {
 public:
  // Validates `config` (see validate()) and builds an empty table; null with `error` set on failure.
  static std::unique_ptr<Nat66Table> create(const Nat66Config& config, std::string& error);
  ~Nat66Table();
  Nat66Table(const Nat66Table&) = delete;
  Nat66Table& operator=(const Nat66Table&) = delete;

  // Packets are translated by translate_nat66() (nat66_translate.h), beside translate_nptv6() (nptv6.h).

  // --- primitives (used by translate; exposed for benchmarks and tests) ---

  // Finds or creates the mapping for an outbound flow (key: f.proto, f.src, f.sport; f.dst/f.dport is the
  // remote), refreshes it, tracks TCP state and counts the packet. Returns Counter::count_ on success, else
  // the drop reason (table full, /64 limit, ports exhausted); nothing is counted for a refusal.
  Counter outbound(const Nat66Flow& f, uint64_t now_ms, Nat66Binding& out, CounterBlock& counters) noexcept;

  // Resolves an inbound flow (key: f.proto, f.dst, f.dport; f.src is the remote), applies filtering, refreshes
  // (if configured), tracks TCP state and counts the packet.
  Nat66Lookup inbound(const Nat66Flow& f, uint64_t now_ms, Nat66Binding& out, CounterBlock& counters) noexcept;

  // Pure lookups: no refresh, no state change. `remote`, if given, is checked against the filtering mode.
  Nat66Lookup find_inside(Nat66Proto p, const Address& inside, uint16_t port, uint64_t now_ms,
                          Nat66Binding& out) const noexcept;
  Nat66Lookup find_outside(Nat66Proto p, const Address& outside, uint16_t port, uint64_t now_ms, Nat66Binding& out,
                           const Address* remote = nullptr) const noexcept;

  // In one of the current source prefixes. Loads the current set (an atomic shared_ptr load): the queue threads
  // use the set they took for their batch instead (Tables::masquerade_sources, dispatch.h).
  bool is_inside(const Address& a) const noexcept { return sources()->contains(a); }
  Nat66SourcesPtr sources() const noexcept { return sources_.load(std::memory_order_acquire); }
  // The pool slot (Entry::pool) of outside address `a`, in use or kept, or -1.
  int outside_index(const Address& a) const noexcept { return pool_.index_of(a); }
  // The slot of the address new flows from `inside` take (paired pooling, RFC 4787 REQ-2), its address in
  // `out`; -1 while the pool has no address in use (new flows are refused: drop_nat66_no_address).
  int outside_slot(const Address& inside, Address& out) const noexcept;
  // That address, or the unspecified address while there is none.
  Address outside_for(const Address& inside) const noexcept {
    Address a;
    (void)outside_slot(inside, a);
    return a;
  }
  std::vector<Address> outside_in_use() const { return pool_.in_use(); }
  std::vector<Address> outside_kept() const { return pool_.kept(); }

  // --- the source prefixes, changed while running (any thread) ---

  // Replaces the source prefixes (config().inside is the first set). Empty if done; otherwise why not (the same
  // checks as validate()) and the set is unchanged. Mappings of inside addresses in none of the new prefixes
  // are removed by the next two remove_stale() calls (the second catches one a queue thread made with the
  // set it took for its batch just before the swap).
  std::string set_sources(std::vector<Prefix> prefixes);
  // Removes the mappings a change made stale (after a set_sources or set_outside, else nothing to do: one
  // atomic load): inside address in no source prefix now (nat66_mapping_unsourced), outside address gone
  // (nat66_mapping_address_gone); a DESTROY event each. Returns how many.
  size_t remove_stale(uint64_t now_ms, CounterBlock& counters) noexcept;

  // --- the outside addresses, changed while running (any thread; issue 10: the address follows its interface) ---

  // New flows take an address of `use` (none: new flows are refused); mappings on an address of `keep` (still
  // on the host, e.g. deprecated) live on; mappings on any other address are removed by the next two
  // remove_stale() calls (nat66_mapping_address_gone) and inbound to it stops matching at once. Empty if done,
  // otherwise why not (validate_outside, or too many changes at once) and nothing changed.
  std::string set_outside(const std::vector<Address>& use, const std::vector<Address>& keep);

  // --- the port forwards (nat66_forwards.h), changed while running (any thread) ---

  // The current set, or null while there is none: a table without forwards pays one relaxed load per packet
  // instead of a shared_ptr load.
  Nat66ForwardsPtr forwards_if_any() const noexcept {
    return has_forwards_.load(std::memory_order_relaxed) ? forwards_.load(std::memory_order_acquire) : nullptr;
  }
  Nat66ForwardsPtr forwards() const noexcept { return forwards_.load(std::memory_order_acquire); }
  // Replaces the forwards. Empty if done; otherwise why not (validate_forwards; or a forward on a port a mapping
  // still holds, made under an earlier port range: its replies would go to the forward) and the set is
  // unchanged. Flows through a forward that went simply stop being translated (no state to remove).
  std::string set_forwards(std::vector<Nat66Forward> forwards);

  // --- the tunables, changed while running (any thread; see "Tunables" above) ---

  // Replaces the tunables, and with `forwards` the forwards too, checked together (a reload may move both the
  // range and a forward across it). Empty if done; otherwise why not (validate_tunables, validate_forwards
  // against the new range, a forward on a port a mapping holds) and nothing changed.
  std::string set_tunables(const Nat66Tunables& t, const std::vector<Nat66Forward>* forwards = nullptr);
  Nat66Tunables tunables() const noexcept;
  // In the dynamic port range now (1..1023 are not: they are kept, or mapped into the range).
  bool in_port_range(uint16_t port) const noexcept {
    const uint64_t m = mode_.load(std::memory_order_relaxed);
    return port >= mode_port_min(m) && port <= mode_port_max(m);
  }

  // Whether a mapping (live, or expired and not yet reaped) holds a TCP or UDP outside port of [lo, hi] on any
  // outside address: the rules keep queuing an earlier range to such ports until none is left. A scan of up
  // to 2 x 65536 ports per address: for housekeeping, not per packet.
  bool holds_ports(uint16_t lo, uint16_t hi) const noexcept;

  // --- housekeeping (any thread; typically one timer thread every ~100 ms-1 s) ---

  // Removes mappings whose deadline is <= now_ms, examining at most `budget` mappings; returns how many it
  // removed (counted as nat66_mapping_expired). Call repeatedly; each call resumes where the last stopped.
  size_t expire(uint64_t now_ms, size_t budget, CounterBlock& counters) noexcept;

  // Appends every live mapping to `out` (shard by shard, so not one instant across shards). Remotes whose
  // deadline is <= now_ms are left out (0: every remembered one); with `remotes`, each mapping's are appended
  // there (see Nat66MappingRecord::remotes_first).
  void snapshot(std::vector<Nat66MappingRecord>& out, uint64_t now_ms = 0,
                std::vector<Nat66Remote>* remotes = nullptr) const;

  Nat66Counts counts() const noexcept;  // live mappings by state
  uint32_t mappings_in_64(const Address& inside) const { return host_limit_.used(inside.high64()); }

  // Moves queued mapping events (NEW on creation, UPDATE on a TCP state change, DESTROY on expiry, REMOTE
  // when a mapping gains a remote after its first, LIMIT when one is refused) to `out`.
  size_t drain_events(std::vector<Nat66MappingEvent>& out) { return events_.drain(out); }

  // As created: inside is the first source set, the tunables the first ones (tunables() has those in force).
  const Nat66Config& config() const noexcept { return config_; }

 private:
  struct Entry;
  struct Shard;
  class AllShardsLocked;
  explicit Nat66Table(const Nat66Config& config);

  uint64_t hash_inside(Nat66Proto p, const Address& a, uint16_t port) const noexcept;
  Counter outbound_locked(Shard& s, uint32_t shard_no, uint64_t h, const Nat66Flow& f, uint64_t now_ms,
                          Nat66Binding& out, CounterBlock& counters, void* event_storage) noexcept;
  Nat66Lookup inbound_locked(Shard& s, uint32_t handle, int pool, uint64_t mode, const Nat66Flow& f, uint64_t now_ms,
                             Nat66Binding& out, void* event_storage) noexcept;
  uint32_t find_slot_locked(Shard& s, uint32_t tag, Nat66Proto p, const Address& a, uint16_t port) const noexcept;
  Entry* resolve_outside_locked(Shard& s, uint32_t handle, Nat66Proto p, int pool, uint16_t port,
                                uint64_t now_ms) const noexcept;
  Counter create_locked(Shard& s, uint32_t shard_no, uint32_t tag, const Nat66Flow& f, uint64_t now_ms,
                        uint32_t& slot_out) noexcept;
  void destroy_locked(Shard& s, uint32_t slot, uint64_t now_ms, Nat66MappingEvent* event) noexcept;
  void touch(Shard& s, uint32_t slot, bool outbound, bool refresh, Nat66Remote* r, const Nat66Flow& f,
             uint64_t now_ms) noexcept;
  Nat66Remote* find_remote(Entry& e, const Address& a, uint16_t port) const noexcept;
  bool remote_allowed(const Entry& e, const Address& a, uint64_t now_ms) const noexcept;
  Counter add_remote(Entry& e, const Nat66Flow& f, uint64_t now_ms, Nat66Remote*& out) noexcept;
  void settle(Entry& e, uint64_t now_ms) noexcept;
  uint32_t live_remotes(const Entry& e, uint64_t now_ms) const noexcept;
  bool remote_limit_event_due(uint64_t now_ms) noexcept;
  void set_state(Entry& e, Nat66State st) noexcept;
  uint64_t timeout_for(Nat66State st) const noexcept;
  void wheel_link(Shard& s, uint32_t slot, uint64_t now_ms) noexcept;
  void wheel_unlink(Shard& s, uint32_t slot) noexcept;
  void record(const Entry& e, uint64_t now_ms, Nat66MappingRecord& r) const noexcept;
  void bind(const Entry& e, uint32_t handle, Nat66Binding& out) const noexcept;
  void publish(const Nat66MappingEvent* events, size_t n, CounterBlock& counters) noexcept;

  // The tunables' word (mode_): port_max in bits 0-15, port_min 16-31, then the flags below.
  static constexpr uint64_t kModeKeepPrivileged = uint64_t{1} << 32;
  static constexpr uint64_t kModeAddressDependent = uint64_t{1} << 33;
  static constexpr uint64_t kModeInboundRefresh = uint64_t{1} << 34;
  static uint64_t mode_of(const Nat66Tunables& t) noexcept;
  void store_tunables(const Nat66Tunables& t) noexcept;
  std::string check_forwards_locked(const std::vector<Nat66Forward>& forwards, const Nat66Tunables& t) const;
  void store_forwards_locked(std::vector<Nat66Forward> forwards);
  bool port_held(Nat66Proto p, uint16_t port) const noexcept;
  static uint16_t mode_port_min(uint64_t m) noexcept { return static_cast<uint16_t>(m >> 16); }
  static uint16_t mode_port_max(uint64_t m) noexcept { return static_cast<uint16_t>(m); }
  uint64_t mode() const noexcept { return mode_.load(std::memory_order_relaxed); }

  const Nat66Config config_;
  // The tunables in force (set_tunables), each read with a relaxed load: a packet may see one change before
  // another, and every mix is valid (each was validated, and the forwards against both ranges).
  alignas(64) std::atomic<uint64_t> mode_;  // read-mostly: a cache line of their own with the limits below
  std::atomic<uint64_t> timeout_ms_[kNat66StateCount];  // by Nat66State
  std::atomic<uint32_t> max_mappings_;
  std::atomic<uint32_t> max_remotes_per_mapping_;
  Nat66Pool pool_;                                       // the outside addresses (set_outside)
  uint64_t key_[6];                                      // hash keys, random per table
  Nat66Ports ports_;
  Nat66HostLimit host_limit_;
  Nat66EventQueue events_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint32_t> live_{0};
  std::atomic<uint64_t> by_state_[kNat66StateCount] = {};
  std::atomic<uint32_t> expire_next_shard_{0};
  std::atomic<uint64_t> remote_limit_event_ms_{0};  // when the last LIMIT event was queued (+1; 0: never)
  std::atomic<Nat66SourcesPtr> sources_;            // the current source prefixes (set_sources)
  std::atomic<int> stale_passes_{0};                // remove_stale() passes still due after a change
  std::mutex change_mutex_;  // serializes set_outside, freeing retired slots, set_forwards and set_tunables
  std::atomic<Nat66ForwardsPtr> forwards_;          // the current port forwards (set_forwards)
  std::atomic<bool> has_forwards_{false};
};

}  // namespace npt66
