#include "nat66_table.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <mutex>
#include <new>
#include <random>
#include <type_traits>

#include "nat66_index.h"
#include "nat66_memory.h"
#include "nat66_spinlock.h"

namespace npt66 {
namespace {

// Handles are shard << kSlotBits | slot: 16 shards x 16 M slots = kNat66MaxMappings. Sixteen shards keep lock
// collisions rare for a handful of queue threads while letting each shard's arrays grow big enough for huge pages.
constexpr int kShardBits = 4;
constexpr size_t kShards = size_t{1} << kShardBits;
constexpr int kSlotBits = 24;
constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
static_assert((uint64_t{kShards} << kSlotBits) == kNat66MaxMappings);

// Entries live in chunks that double in size (1024, 2048, ... entries) and never move: a small table stays
// small, a big one gets chunks of megabytes on huge pages.
constexpr uint32_t kChunkBase = 1024;
constexpr int kMaxChunks = 15;  // kChunkBase * (2^15 - 1) >= 2^kSlotBits
static_assert(uint64_t{kChunkBase} * ((1u << kMaxChunks) - 1) >= (uint64_t{1} << kSlotBits));
constexpr int chunk_of(uint32_t slot) noexcept { return std::bit_width(slot / kChunkBase + 1) - 1; }
constexpr uint32_t chunk_first(int k) noexcept { return kChunkBase * ((1u << k) - 1); }

// Timer wheel: one bucket per second, 4096 buckets (68 min). A deadline further away sits in the last bucket
// of the lap and is looked at again when that bucket comes round (the 2 h 4 min TCP timer does this once).
constexpr uint64_t kWheel = 4096;

constexpr int kRemotes = 4;

// TCP tracking bits (Entry::tcp).
constexpr uint8_t kSeenOut = 1, kSeenIn = 2, kFinOut = 4, kFinIn = 8, kReset = 16;

uint64_t mix(uint64_t a, uint64_t b) noexcept {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// The two halves of an address in host byte order (for hashing only).
uint64_t raw_high(const Address& a) noexcept {
  uint64_t v;
  std::memcpy(&v, a.b.data(), 8);
  return v;
}
uint64_t raw_low(const Address& a) noexcept {
  uint64_t v;
  std::memcpy(&v, a.b.data() + 8, 8);
  return v;
}

uint64_t splitmix(uint64_t& state) noexcept {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

bool in_prefix(const Prefix& p, const Address& a) noexcept {
  int full = p.len / 8;
  if (std::memcmp(p.addr.b.data(), a.b.data(), static_cast<size_t>(full)) != 0) return false;
  if (p.len % 8 == 0) return true;
  uint8_t m = static_cast<uint8_t>(0xFF << (8 - p.len % 8));
  return (p.addr.b[full] & m) == (a.b[full] & m);
}

}  // namespace

struct alignas(64) Nat66Table::Entry {
  // First cache line: everything a lookup, the key check and the timer wheel read.
  Address inside;
  uint64_t expires_ms = 0;
  uint64_t wheel_tick = 0;                  // the second whose bucket holds this entry
  uint32_t wheel_prev = 0, wheel_next = 0;  // slot + 1, 0 = none
  uint16_t inside_port = 0, outside_port = 0, remote_port = 0;
  uint16_t pool = 0;  // index into config.outside
  Nat66Proto proto = Nat66Proto::udp;
  Nat66State state = Nat66State::udp;
  uint8_t tcp = 0;
  uint8_t remote_count = 0;
  bool live = false;
  // Per-packet bookkeeping and filtering.
  uint64_t created_ms = 0, last_ms = 0;
  uint64_t packets_out = 0, packets_in = 0, bytes_out = 0, bytes_in = 0;
  Address remotes[kRemotes];  // most recently used first
};


struct alignas(64) Nat66Table::Shard {
  mutable Nat66Spinlock lock;
  Nat66Index index;  // inside key -> slot
  std::array<Nat66Buffer<Entry>, kMaxChunks> chunks;
  uint32_t high_water = 0;  // slots [0, high_water) exist
  std::vector<uint32_t> free_slots;
  std::vector<uint32_t> wheel = std::vector<uint32_t>(kWheel, 0);  // bucket heads, slot + 1
  uint64_t cursor = 0;      // first second whose bucket has not been fully processed
  bool cursor_set = false;  // set by the first mapping in this shard
  uint64_t rng = 0;

  Entry& at(uint32_t slot) const noexcept {
    int k = chunk_of(slot);
    return chunks[static_cast<size_t>(k)][slot - chunk_first(k)];
  }
};

std::unique_ptr<Nat66Table> Nat66Table::create(const Nat66Config& config, std::string& error) {
  error = validate(config);
  if (!error.empty()) return nullptr;
  return std::unique_ptr<Nat66Table>(new Nat66Table(config));
}

Nat66Table::Nat66Table(const Nat66Config& config)
    : config_(config),
      ports_(config.outside.size()),
      host_limit_(config.max_per_64),
      events_(config.event_capacity),
      shards_(new Shard[kShards]) {
  static_assert(offsetof(Entry, live) < 64, "lookup fields must share the entry's first cache line");
  uint64_t seed = config.seed;
  if (seed == 0) {
    std::random_device rd;
    seed = uint64_t{rd()} << 32 | rd();
  }
  for (uint64_t& k : key_) k = splitmix(seed) | 1;
  for (size_t i = 0; i < kShards; ++i) shards_[i].rng = splitmix(seed);
  for (size_t i = 0; i < config.outside.size(); ++i) outside_sorted_.push_back({config.outside[i], static_cast<int>(i)});
  std::sort(outside_sorted_.begin(), outside_sorted_.end(),
            [](const auto& a, const auto& b) { return a.first.b < b.first.b; });
}

Nat66Table::~Nat66Table() = default;

// --- small helpers ---
// The per-packet helpers below are defined `inline`: the core is built as position-independent code, where
// GCC will not inline an ordinary member function into its callers (it could be interposed), and these calls
// were a good part of a lookup's instructions.

inline uint64_t Nat66Table::hash_inside(Nat66Proto p, const Address& a, uint16_t port) const noexcept {
  // Keyed so that inside hosts cannot aim many flows at one shard or probe run.
  uint64_t h = mix(raw_high(a) ^ key_[0], raw_low(a) ^ key_[1]);
  return mix(h ^ key_[2], (uint64_t{static_cast<uint8_t>(p)} << 16 | port) ^ key_[3]);
}

bool Nat66Table::is_inside(const Address& a) const noexcept {
  for (const Prefix& p : config_.inside)
    if (in_prefix(p, a)) return true;
  return false;
}

int Nat66Table::outside_index(const Address& a) const noexcept {
  if (outside_sorted_.size() == 1) return outside_sorted_[0].first == a ? 0 : -1;
  auto it = std::lower_bound(outside_sorted_.begin(), outside_sorted_.end(), a,
                             [](const auto& e, const Address& x) { return e.first.b < x.b; });
  return it != outside_sorted_.end() && it->first == a ? it->second : -1;
}

const Address& Nat66Table::outside_for(const Address& inside) const noexcept {
  size_t n = config_.outside.size();
  if (n == 1) return config_.outside[0];
  return config_.outside[mix(raw_high(inside) ^ key_[4], raw_low(inside) ^ key_[5]) % n];
}

inline uint64_t Nat66Table::timeout_for(Nat66State st) const noexcept {
  switch (st) {
    case Nat66State::udp: return config_.timeouts.udp_ms;
    case Nat66State::tcp_transitory: return config_.timeouts.tcp_transitory_ms;
    case Nat66State::tcp_established: return config_.timeouts.tcp_established_ms;
    case Nat66State::icmp: return config_.timeouts.icmp_ms;
  }
  return config_.timeouts.udp_ms;
}

inline void Nat66Table::set_state(Entry& e, Nat66State st) noexcept {
  if (e.state == st) return;
  by_state_[static_cast<int>(e.state)].fetch_sub(1, std::memory_order_relaxed);
  by_state_[static_cast<int>(st)].fetch_add(1, std::memory_order_relaxed);
  e.state = st;
}

Nat66Counts Nat66Table::counts() const noexcept {
  auto get = [&](Nat66State s) { return by_state_[static_cast<int>(s)].load(std::memory_order_relaxed); };
  return {get(Nat66State::udp), get(Nat66State::tcp_transitory), get(Nat66State::tcp_established),
          get(Nat66State::icmp)};
}

void Nat66Table::record(const Entry& e, Nat66MappingRecord& r) const noexcept {
  r.proto = e.proto;
  r.state = e.state;
  r.inside = e.inside;
  r.outside = config_.outside[e.pool];
  r.remote = e.remotes[0];
  r.inside_port = e.inside_port;
  r.outside_port = e.outside_port;
  r.remote_port = e.remote_port;
  r.created_ms = e.created_ms;
  r.last_ms = e.last_ms;
  r.expires_ms = e.expires_ms;
  r.packets_out = e.packets_out;
  r.packets_in = e.packets_in;
  r.bytes_out = e.bytes_out;
  r.bytes_in = e.bytes_in;
}

inline void Nat66Table::bind(const Entry& e, uint32_t handle, Nat66Binding& out) const noexcept {
  out.handle = handle;
  out.proto = e.proto;
  out.inside = e.inside;
  out.inside_port = e.inside_port;
  out.outside = config_.outside[e.pool];
  out.outside_port = e.outside_port;
}

void Nat66Table::publish(const Nat66MappingEvent* events, size_t n, CounterBlock& counters) noexcept {
  if (n == 0 || config_.event_capacity == 0) return;
  if (size_t lost = events_.push(events, n)) counters.add(Counter::nat66_event_overflow, lost);
}

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

// --- lookups ---

inline uint32_t Nat66Table::find_slot_locked(Shard& s, uint32_t tag, Nat66Proto p, const Address& a,
                                      uint16_t port) const noexcept {
  return s.index.find(tag, [&](uint32_t slot) {
    const Entry& e = s.at(slot);
    return e.inside_port == port && e.proto == p && e.inside == a;
  });
}

// The entry a port owner points at, if it is still that live, unexpired mapping (the owner was read before
// the lock was taken, so the mapping may have gone meanwhile).
inline Nat66Table::Entry* Nat66Table::resolve_outside_locked(Shard& s, uint32_t handle, Nat66Proto p, int pool,
                                                      uint16_t port, uint64_t now_ms) const noexcept {
  uint32_t slot = handle & kSlotMask;
  if (slot >= s.high_water) return nullptr;
  Entry& e = s.at(slot);
  if (!e.live || e.proto != p || e.pool != pool || e.outside_port != port || now_ms >= e.expires_ms) return nullptr;
  return &e;
}

Nat66Lookup Nat66Table::find_inside(Nat66Proto p, const Address& inside, uint16_t port, uint64_t now_ms,
                                    Nat66Binding& out) const noexcept {
  uint64_t h = hash_inside(p, inside, port);
  uint32_t shard_no = static_cast<uint32_t>(h >> (64 - kShardBits));
  Shard& s = shards_[shard_no];
  std::lock_guard guard(s.lock);
  uint32_t slot = find_slot_locked(s, static_cast<uint32_t>(h), p, inside, port);
  if (slot == Nat66Index::kNone) return Nat66Lookup::absent;
  const Entry& e = s.at(slot);
  if (now_ms >= e.expires_ms) return Nat66Lookup::absent;
  bind(e, shard_no << kSlotBits | slot, out);
  return Nat66Lookup::found;
}

Nat66Lookup Nat66Table::find_outside(Nat66Proto p, const Address& outside, uint16_t port, uint64_t now_ms,
                                     Nat66Binding& out, const Address* remote) const noexcept {
  int pool = outside_index(outside);
  if (pool < 0) return Nat66Lookup::absent;
  uint32_t handle = ports_.owner(static_cast<size_t>(pool), p, port);
  if (handle == Nat66Ports::kNoOwner) return Nat66Lookup::absent;
  Shard& s = shards_[handle >> kSlotBits];
  std::lock_guard guard(s.lock);
  const Entry* e = resolve_outside_locked(s, handle, p, pool, port, now_ms);
  if (e == nullptr) return Nat66Lookup::absent;
  if (remote != nullptr && config_.filtering == Nat66Filtering::address_dependent &&
      std::find(e->remotes, e->remotes + e->remote_count, *remote) == e->remotes + e->remote_count)
    return Nat66Lookup::filtered;
  bind(*e, handle, out);
  return Nat66Lookup::found;
}

// --- per-packet update (shard lock held) ---

inline void Nat66Table::touch(Shard& s, uint32_t slot, bool outbound, const Nat66Flow& f, uint64_t now_ms) noexcept {
  Entry& e = s.at(slot);
  e.last_ms = now_ms;
  if (outbound) {
    ++e.packets_out;
    e.bytes_out += f.bytes;
    // Remember the remote, most recent first (address-dependent filtering and the events' "remote"). Most
    // packets go to the remote already in front: nothing to move.
    if (e.remote_count == 0 || !(e.remotes[0] == f.dst)) {
      Address* end = e.remotes + e.remote_count;
      Address* hit = std::find(e.remotes, end, f.dst);
      if (hit == end) {
        if (e.remote_count < kRemotes) ++e.remote_count;
        hit = e.remotes + e.remote_count - 1;  // the slot to reuse: a new one, or the least recently used
        *hit = f.dst;
      }
      std::rotate(e.remotes, hit, hit + 1);
    }
    e.remote_port = f.dport;
  } else {
    ++e.packets_in;
    e.bytes_in += f.bytes;
  }

  // TCP (RFC 5382 s5, RFC 7857 s2.2): established once packets have gone both ways since the last outbound
  // SYN; transitory before that, after a RST, or once FINs have gone both ways.
  Nat66State st = e.state;
  if (e.proto == Nat66Proto::tcp) {
    uint8_t fl = f.tcp_flags;
    if (fl & tcpflag::kRst) {
      e.tcp |= kReset;
    } else {
      if (outbound && (fl & (tcpflag::kSyn | tcpflag::kAck)) == tcpflag::kSyn) e.tcp = 0;  // a new connection
      e.tcp |= outbound ? kSeenOut : kSeenIn;
      if (fl & tcpflag::kFin) e.tcp |= outbound ? kFinOut : kFinIn;
    }
    bool closing = (e.tcp & kReset) || ((e.tcp & kFinOut) && (e.tcp & kFinIn));
    bool both_ways = (e.tcp & kSeenOut) && (e.tcp & kSeenIn);
    st = !closing && both_ways ? Nat66State::tcp_established : Nat66State::tcp_transitory;
  }
  bool changed = st != e.state;
  set_state(e, st);

  uint64_t deadline = now_ms + timeout_for(st);
  if (outbound || config_.inbound_refresh)
    e.expires_ms = deadline;
  else if (changed)
    e.expires_ms = std::min(e.expires_ms, deadline);  // a close seen inbound may shorten, never lengthen
  // The wheel is lazy about later deadlines (re-checked when the bucket comes round) but must move the entry
  // for an earlier one, or a closing TCP mapping would sit out its 2 h bucket.
  if (e.expires_ms / 1000 < e.wheel_tick) {
    wheel_unlink(s, slot);
    wheel_link(s, slot, now_ms);
  }
}

Counter Nat66Table::create_locked(Shard& s, uint32_t shard_no, uint32_t tag, const Nat66Flow& f, uint64_t now_ms,
                                  uint32_t& slot_out) noexcept {
  // RFC 6888 REQ-3/4: refuse new flows when full; never evict a live mapping.
  if (live_.fetch_add(1, std::memory_order_relaxed) >= config_.max_mappings) {
    live_.fetch_sub(1, std::memory_order_relaxed);
    return Counter::drop_nat66_table_full;
  }
  const uint64_t host64 = f.src.high64();
  bool host_ok = false;
  try {
    host_ok = host_limit_.acquire(host64);
  } catch (const std::bad_alloc&) {
    live_.fetch_sub(1, std::memory_order_relaxed);
    return Counter::drop_nat66_table_full;
  }
  if (!host_ok) {
    live_.fetch_sub(1, std::memory_order_relaxed);
    return Counter::drop_nat66_host_limit;
  }
  auto undo = [&](Counter why) {
    host_limit_.release(host64);
    live_.fetch_sub(1, std::memory_order_relaxed);
    return why;
  };

  // A slot: a freed one, or the next new one (allocating its chunk, and room to free it later, up front).
  uint32_t slot;
  bool new_slot = s.free_slots.empty();
  if (!new_slot) {
    slot = s.free_slots.back();
  } else {
    if (s.high_water > kSlotMask) return undo(Counter::drop_nat66_table_full);
    slot = s.high_water;
    if (int k = chunk_of(slot); slot == chunk_first(k)) {
      try {
        s.chunks[static_cast<size_t>(k)] = Nat66Buffer<Entry>(kChunkBase << k);
        s.free_slots.reserve(chunk_first(k + 1));
      } catch (const std::bad_alloc&) {
        return undo(Counter::drop_nat66_table_full);
      }
    }
  }
  const uint32_t handle = shard_no << kSlotBits | slot;

  // Port: keep the inside one when free and in its range, else scan the range from a random offset.
  const Address& outside = outside_for(f.src);
  const size_t pool = static_cast<size_t>(outside_index(outside));
  uint16_t lo = config_.port_min, hi = config_.port_max;
  if (config_.keep_privileged_ports && f.proto != Nat66Proto::icmp && f.sport > 0 && f.sport < 1024)
    lo = 1, hi = 1023;  // privileged stay so
  uint16_t port = ports_.claim(pool, f.proto, f.sport, lo, hi, static_cast<uint32_t>(splitmix(s.rng)), handle, now_ms);
  if (port == 0) return undo(Counter::drop_nat66_ports_exhausted);

  try {
    s.index.insert(tag, slot);
  } catch (const std::bad_alloc&) {
    ports_.release(pool, f.proto, port, now_ms);
    return undo(Counter::drop_nat66_table_full);
  }
  if (new_slot)
    ++s.high_water;
  else
    s.free_slots.pop_back();

  Entry& e = s.at(slot);
  e = Entry{};
  e.inside = f.src;
  e.inside_port = f.sport;
  e.outside_port = port;
  e.pool = static_cast<uint16_t>(pool);
  e.proto = f.proto;
  e.state = f.proto == Nat66Proto::udp   ? Nat66State::udp
            : f.proto == Nat66Proto::icmp ? Nat66State::icmp
                                          : Nat66State::tcp_transitory;
  e.created_ms = now_ms;
  e.expires_ms = now_ms + timeout_for(e.state);
  e.live = true;
  by_state_[static_cast<int>(e.state)].fetch_add(1, std::memory_order_relaxed);
  wheel_link(s, slot, now_ms);
  slot_out = slot;
  return Counter::count_;
}

void Nat66Table::destroy_locked(Shard& s, uint32_t slot, uint64_t now_ms, Nat66MappingEvent* event) noexcept {
  Entry& e = s.at(slot);
  if (event != nullptr) {
    event->type = Nat66EventType::destroyed;
    event->time_ms = now_ms;
    record(e, event->mapping);
  }
  s.index.erase(static_cast<uint32_t>(hash_inside(e.proto, e.inside, e.inside_port)), slot);
  ports_.release(e.pool, e.proto, e.outside_port, now_ms + config_.port_quarantine_ms);
  host_limit_.release(e.inside.high64());
  by_state_[static_cast<int>(e.state)].fetch_sub(1, std::memory_order_relaxed);
  live_.fetch_sub(1, std::memory_order_relaxed);
  e.live = false;
  s.free_slots.push_back(slot);  // capacity reserved when the slot's chunk was made
}

// --- primitives ---

namespace {
// Room for one mapping event, constructed only when there is one: a Nat66MappingEvent is about 200 bytes, and
// value-initialising one on every packet would cost more than the lookup's own work when no event is made.
struct alignas(Nat66MappingEvent) EventStorage {
  unsigned char bytes[sizeof(Nat66MappingEvent)];
  Nat66MappingEvent* get() noexcept { return std::launder(reinterpret_cast<Nat66MappingEvent*>(bytes)); }
};
static_assert(std::is_trivially_destructible_v<Nat66MappingEvent>);
}  // namespace

inline Counter Nat66Table::outbound_locked(Shard& s, uint32_t shard_no, uint64_t h, const Nat66Flow& f, uint64_t now_ms,
                                    Nat66Binding& out, CounterBlock& counters, void* event_storage,
                                    bool& have_event) noexcept {
  const uint32_t tag = static_cast<uint32_t>(h);
  uint32_t slot = find_slot_locked(s, tag, f.proto, f.src, f.sport);
  bool created = false;
  if (slot == Nat66Index::kNone) {
    if (Counter why = create_locked(s, shard_no, tag, f, now_ms, slot); why != Counter::count_) return why;
    created = true;
  }
  Entry& e = s.at(slot);
  Nat66State before = e.state;
  touch(s, slot, true, f, now_ms);
  if ((created || e.state != before) && config_.event_capacity != 0) {
    Nat66MappingEvent* event = new (event_storage) Nat66MappingEvent{};
    have_event = true;
    event->type = created ? Nat66EventType::created : Nat66EventType::updated;
    event->time_ms = now_ms;
    record(e, event->mapping);
  }
  if (created) counters.add(Counter::nat66_mapping_created);
  bind(e, shard_no << kSlotBits | slot, out);
  return Counter::count_;
}

Counter Nat66Table::outbound(const Nat66Flow& f, uint64_t now_ms, Nat66Binding& out, CounterBlock& counters) noexcept {
  const uint64_t h = hash_inside(f.proto, f.src, f.sport);
  const uint32_t shard_no = static_cast<uint32_t>(h >> (64 - kShardBits));
  Shard& s = shards_[shard_no];
  EventStorage event;
  bool have_event = false;
  Counter result;
  {
    std::lock_guard guard(s.lock);
    result = outbound_locked(s, shard_no, h, f, now_ms, out, counters, event.bytes, have_event);
  }
  if (have_event) publish(event.get(), 1, counters);
  return result;
}

inline Nat66Lookup Nat66Table::inbound_locked(Shard& s, uint32_t handle, int pool, const Nat66Flow& f, uint64_t now_ms,
                                       Nat66Binding& out, void* event_storage, bool& have_event) noexcept {
  Entry* e = resolve_outside_locked(s, handle, f.proto, pool, f.dport, now_ms);
  if (e == nullptr) return Nat66Lookup::absent;
  if (config_.filtering == Nat66Filtering::address_dependent &&
      std::find(e->remotes, e->remotes + e->remote_count, f.src) == e->remotes + e->remote_count)
    return Nat66Lookup::filtered;
  Nat66State before = e->state;
  touch(s, handle & kSlotMask, false, f, now_ms);
  if (e->state != before && config_.event_capacity != 0) {
    Nat66MappingEvent* event = new (event_storage) Nat66MappingEvent{};
    have_event = true;
    event->type = Nat66EventType::updated;
    event->time_ms = now_ms;
    record(*e, event->mapping);
  }
  bind(*e, handle, out);
  return Nat66Lookup::found;
}

Nat66Lookup Nat66Table::inbound(const Nat66Flow& f, uint64_t now_ms, Nat66Binding& out,
                                CounterBlock& counters) noexcept {
  int pool = outside_index(f.dst);
  if (pool < 0) return Nat66Lookup::absent;
  uint32_t handle = ports_.owner(static_cast<size_t>(pool), f.proto, f.dport);
  if (handle == Nat66Ports::kNoOwner) return Nat66Lookup::absent;
  Shard& s = shards_[handle >> kSlotBits];
  EventStorage event;
  bool have_event = false;
  Nat66Lookup result;
  {
    std::lock_guard guard(s.lock);
    result = inbound_locked(s, handle, pool, f, now_ms, out, event.bytes, have_event);
  }
  if (have_event) publish(event.get(), 1, counters);
  return result;
}

// --- housekeeping ---

size_t Nat66Table::expire(uint64_t now_ms, size_t budget, CounterBlock& counters) noexcept {
  const uint64_t now_s = now_ms / 1000;
  size_t removed = 0;
  constexpr size_t kBatch = 64;
  Nat66MappingEvent batch[kBatch];
  size_t batched = 0;
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
      if (s.at(slot).expires_ms > now_ms) {  // refreshed since it was filed: file it again, further on
        wheel_link(s, slot, now_ms);
        continue;
      }
      destroy_locked(s, slot, now_ms, config_.event_capacity != 0 ? &batch[batched] : nullptr);
      ++removed;
      if (config_.event_capacity != 0 && ++batched == kBatch) {
        guard.unlock();
        publish(batch, batched, counters);
        batched = 0;
        guard.lock();
      }
    }
  }
  publish(batch, batched, counters);
  if (removed) counters.add(Counter::nat66_mapping_expired, removed);
  return removed;
}

void Nat66Table::snapshot(std::vector<Nat66MappingRecord>& out) const {
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard guard(s.lock);
    for (uint32_t slot = 0; slot < s.high_water; ++slot) {
      const Entry& e = s.at(slot);
      if (!e.live) continue;
      out.emplace_back();
      record(e, out.back());
    }
  }
}

}  // namespace npt66
