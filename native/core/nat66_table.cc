#include "nat66_table.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <mutex>
#include <new>
#include <random>
#include <type_traits>

#include "nat66_shard.h"

namespace npt66 {
namespace {

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

}  // namespace

std::unique_ptr<Nat66Table> Nat66Table::create(const Nat66Config& config, std::string& error) {
  error = validate(config);
  if (!error.empty()) return nullptr;
  return std::unique_ptr<Nat66Table>(new Nat66Table(config));
}

Nat66Table::Nat66Table(const Nat66Config& config)
    : config_(config),
      pool_(config.outside),
      ports_(pool_.capacity()),
      host_limit_(config.max_per_64),
      events_(config.event_capacity),
      shards_(new Shard[kShards]) {
  static_assert(offsetof(Entry, live) < 64, "lookup fields must share the entry's first cache line");
  static_assert(sizeof(Entry) == 256 && offsetof(Entry, near) == 128, "four cache lines, remotes in the last two");
  uint64_t seed = config.seed;
  if (seed == 0) {
    std::random_device rd;
    seed = uint64_t{rd()} << 32 | rd();
  }
  for (uint64_t& k : key_) k = splitmix(seed) | 1;
  for (size_t i = 0; i < kShards; ++i) shards_[i].rng = splitmix(seed);
  sources_.store(std::make_shared<const Nat66Sources>(Nat66Sources{config.inside}));
  forwards_.store(std::make_shared<const Nat66Forwards>(config.forwards));
  has_forwards_.store(!config.forwards.empty());
  store_tunables(tunables_of(config));
}

Nat66Table::~Nat66Table() {
  for (size_t i = 0; i < kShards; ++i) {
    Shard& s = shards_[i];
    for (uint32_t slot = 0; slot < s.high_water; ++slot) delete s.at(slot).far;
  }
}

// --- small helpers ---
// The per-packet helpers below are defined `inline`: the core is built as position-independent code, where
// GCC will not inline an ordinary member function into its callers (it could be interposed), and these calls
// were a good part of a lookup's instructions.

inline uint64_t Nat66Table::hash_inside(Nat66Proto p, const Address& a, uint16_t port) const noexcept {
  // Keyed so that inside hosts cannot aim many flows at one shard or probe run.
  uint64_t h = mix(raw_high(a) ^ key_[0], raw_low(a) ^ key_[1]);
  return mix(h ^ key_[2], (uint64_t{static_cast<uint8_t>(p)} << 16 | port) ^ key_[3]);
}

int Nat66Table::outside_slot(const Address& inside, Address& out) const noexcept {
  const int slot = pool_.choose(mix(raw_high(inside) ^ key_[4], raw_low(inside) ^ key_[5]));
  if (slot >= 0) out = pool_.address(static_cast<size_t>(slot));
  return slot;
}

inline uint64_t Nat66Table::timeout_for(Nat66State st) const noexcept {
  return timeout_ms_[static_cast<int>(st)].load(std::memory_order_relaxed);
}

// --- tunables ---

uint64_t Nat66Table::mode_of(const Nat66Tunables& t) noexcept {
  return uint64_t{t.port_min} << 16 | t.port_max | (t.keep_privileged_ports ? kModeKeepPrivileged : 0) |
         (t.filtering == Nat66Filtering::address_dependent ? kModeAddressDependent : 0) |
         (t.inbound_refresh ? kModeInboundRefresh : 0);
}

void Nat66Table::store_tunables(const Nat66Tunables& t) noexcept {
  timeout_ms_[static_cast<int>(Nat66State::udp)].store(t.timeouts.udp_ms, std::memory_order_relaxed);
  timeout_ms_[static_cast<int>(Nat66State::tcp_transitory)].store(t.timeouts.tcp_transitory_ms, std::memory_order_relaxed);
  timeout_ms_[static_cast<int>(Nat66State::tcp_established)].store(t.timeouts.tcp_established_ms, std::memory_order_relaxed);
  timeout_ms_[static_cast<int>(Nat66State::icmp)].store(t.timeouts.icmp_ms, std::memory_order_relaxed);
  max_mappings_.store(t.max_mappings, std::memory_order_relaxed);
  max_remotes_per_mapping_.store(t.max_remotes_per_mapping, std::memory_order_relaxed);
  host_limit_.set_limit(t.max_per_64);
  mode_.store(mode_of(t), std::memory_order_relaxed);
}

Nat66Tunables Nat66Table::tunables() const noexcept {
  const uint64_t m = mode();
  Nat66Tunables t;
  t.port_min = mode_port_min(m);
  t.port_max = mode_port_max(m);
  t.keep_privileged_ports = (m & kModeKeepPrivileged) != 0;
  t.filtering = (m & kModeAddressDependent) ? Nat66Filtering::address_dependent : Nat66Filtering::endpoint_independent;
  t.inbound_refresh = (m & kModeInboundRefresh) != 0;
  t.timeouts.udp_ms = timeout_for(Nat66State::udp);
  t.timeouts.tcp_transitory_ms = timeout_for(Nat66State::tcp_transitory);
  t.timeouts.tcp_established_ms = timeout_for(Nat66State::tcp_established);
  t.timeouts.icmp_ms = timeout_for(Nat66State::icmp);
  t.max_mappings = max_mappings_.load(std::memory_order_relaxed);
  t.max_per_64 = host_limit_.limit();
  t.max_remotes_per_mapping = max_remotes_per_mapping_.load(std::memory_order_relaxed);
  return t;
}

bool Nat66Table::holds_ports(uint16_t lo, uint16_t hi) const noexcept {
  for (size_t a = 0; a < pool_.capacity(); ++a)
    for (Nat66Proto p : {Nat66Proto::tcp, Nat66Proto::udp})
      if (ports_.any_owned(a, p, lo, hi)) return true;
  return false;
}

// validate_forwards against `t`'s range, and no forward on a port a mapping holds (one made under an earlier
// range: a forward wins inbound, nat66_translate.cc, so its replies would be stolen).
std::string Nat66Table::check_forwards_locked(const std::vector<Nat66Forward>& forwards, const Nat66Tunables& t) const {
  if (std::string error = validate_forwards(forwards, t.port_min, t.port_max, t.keep_privileged_ports); !error.empty())
    return error;
  for (const Nat66Forward& f : forwards)
    if (port_held(f.proto, f.port))
      return "masquerade: forward " + std::string(to_string(f.proto)) + " port " + std::to_string(f.port) +
             " is held by a mapping made under an earlier port range; pick another port or wait until it expires";
  return {};
}

void Nat66Table::store_forwards_locked(std::vector<Nat66Forward> forwards) {
  // A packet thread that saw has_forwards_ true reads whatever set is current, empty or not: both orders are safe.
  const bool any = !forwards.empty();
  forwards_.store(std::make_shared<const Nat66Forwards>(std::move(forwards)), std::memory_order_release);
  has_forwards_.store(any, std::memory_order_release);
}

bool Nat66Table::port_held(Nat66Proto p, uint16_t port) const noexcept {
  for (size_t a = 0; a < pool_.capacity(); ++a)
    if (ports_.owner(a, p, port) != Nat66Ports::kNoOwner) return true;
  return false;
}

// Every shard's lock, in shard order, for as long as it lives. A mapping is created under its shard's lock (which
// it reads the port range under, create_locked), and no thread holds two: while these are held no mapping is made,
// so "no mapping holds a forward's port" stays true from the check to the stores. Packet threads wait a few
// microseconds, on a reload only.
class Nat66Table::AllShardsLocked {
 public:
  explicit AllShardsLocked(Nat66Table& t) : t_(t) {
    for (size_t i = 0; i < kShards; ++i) t_.shards_[i].lock.lock();
  }
  ~AllShardsLocked() {
    for (size_t i = kShards; i-- > 0;) t_.shards_[i].lock.unlock();
  }
  AllShardsLocked(const AllShardsLocked&) = delete;
  AllShardsLocked& operator=(const AllShardsLocked&) = delete;

 private:
  Nat66Table& t_;
};

std::string Nat66Table::set_tunables(const Nat66Tunables& t, const std::vector<Nat66Forward>* forwards) {
  std::lock_guard lock(change_mutex_);  // with set_forwards: the forwards are checked against the range in force
  if (std::string error = validate_tunables(t); !error.empty()) return error;
  AllShardsLocked quiet(*this);
  if (std::string error = check_forwards_locked(forwards ? *forwards : forwards_.load()->all(), t); !error.empty())
    return error;
  if (forwards) store_forwards_locked(*forwards);
  store_tunables(t);
  return {};
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

void Nat66Table::record(const Entry& e, uint64_t now_ms, Nat66MappingRecord& r) const noexcept {
  r.proto = e.proto;
  r.state = e.state;
  r.inside = e.inside;
  r.outside = pool_.address(e.pool);
  r.remote = e.last_remote;
  r.remote_count = live_remotes(e, now_ms);
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
  out.outside = pool_.address(e.pool);
  out.outside_port = e.outside_port;
}

void Nat66Table::publish(const Nat66MappingEvent* events, size_t n, CounterBlock& counters) noexcept {
  if (n == 0 || config_.event_capacity == 0) return;
  if (size_t lost = events_.push(events, n)) counters.add(Counter::nat66_event_overflow, lost);
}

// --- remotes (shard lock held) ---
// The key of a remote is its address, plus its port for TCP (one connection each).

inline Nat66Remote* Nat66Table::find_remote(Entry& e, const Address& a, uint16_t port) const noexcept {
  const bool tcp = e.proto == Nat66Proto::tcp;
  for (Nat66Remote& r : e.near) {
    if (r.empty()) return nullptr;  // filled front to back; anything further is in e.far only when near is full
    if (r.addr == a && (!tcp || r.port == port)) return &r;
  }
  return e.far != nullptr ? e.far->find(a, port, tcp) : nullptr;
}

// Address-dependent filtering: has the inside endpoint a live remote with this address (TCP: any port)?
inline bool Nat66Table::remote_allowed(const Entry& e, const Address& a, uint64_t now_ms) const noexcept {
  for (const Nat66Remote& r : e.near) {
    if (r.empty()) return false;
    if (r.addr == a && r.live(now_ms)) return true;
  }
  return e.far != nullptr && e.far->find_live(a, now_ms) != nullptr;
}

uint32_t Nat66Table::live_remotes(const Entry& e, uint64_t now_ms) const noexcept {
  uint32_t n = 0;
  for (const Nat66Remote& r : e.near) n += r.live(now_ms);
  if (e.far != nullptr) n += static_cast<uint32_t>(e.far->live(now_ms));
  return n;
}

// A remote for f.dst (TCP: f.dst, f.dport) that find_remote did not find live. `out` comes in as find_remote's
// expired match (reused in place) or null (then the first free or expired near slot, else e.far). Refused at
// the limit, never evicting a live remote (its replies would be dropped without a trace), or when e.far
// cannot grow. The remote is fresh: no TCP history.
Counter Nat66Table::add_remote(Entry& e, const Nat66Flow& f, uint64_t now_ms, Nat66Remote*& out) noexcept {
  const uint32_t max_remotes = max_remotes_per_mapping_.load(std::memory_order_relaxed);
  uint32_t live = 0;
  for (const Nat66Remote& r : e.near) live += r.live(now_ms);
  if (e.far != nullptr) {
    // far's size counts expired remotes too: sweep only when that bound says "maybe full". Sweeping moves
    // far remotes, so the expired match is looked up again.
    if (live + e.far->size() >= max_remotes && e.far->sweep(now_ms) > 0)
      out = find_remote(e, f.dst, f.dport);
    live += static_cast<uint32_t>(e.far->size());
  }
  if (live >= max_remotes) return Counter::drop_nat66_remote_limit;

  Nat66Remote fresh;
  fresh.addr = f.dst;
  fresh.port = f.dport;
  fresh.state = e.proto == Nat66Proto::tcp ? Nat66State::tcp_transitory : e.state;
  fresh.expires_ms = now_ms + timeout_for(fresh.state);  // non-zero: an occupied slot (touch() sets the real one)
  Nat66Remote* slot = out;
  for (Nat66Remote& r : e.near) {
    if (slot != nullptr) break;
    if (!r.live(now_ms)) slot = &r;
  }
  if (slot == nullptr) {
    try {
      if (e.far == nullptr) e.far = new Nat66RemoteTable(key_[2] ^ key_[4], key_[3] ^ key_[5]);
      slot = e.far->insert(fresh);
    } catch (const std::bad_alloc&) {
      return Counter::drop_nat66_table_full;
    }
  }
  *slot = fresh;
  out = slot;
  return Counter::count_;
}

// Recomputes a TCP mapping's state and deadline from its connections after one of them stopped being
// established (its deadline may have shrunk): established while any live one is; the latest deadline.
void Nat66Table::settle(Entry& e, uint64_t now_ms) noexcept {
  bool established = false;
  uint64_t latest = 0;
  auto look = [&](const Nat66Remote& r) {
    if (r.empty()) return;
    latest = std::max(latest, r.expires_ms);
    established |= r.live(now_ms) && r.state == Nat66State::tcp_established;
  };
  for (const Nat66Remote& r : e.near) look(r);
  if (e.far != nullptr) e.far->for_each(look);
  if (e.proto == Nat66Proto::tcp) set_state(e, established ? Nat66State::tcp_established : Nat66State::tcp_transitory);
  e.expires_ms = latest;
}

bool Nat66Table::remote_limit_event_due(uint64_t now_ms) noexcept {
  uint64_t last = remote_limit_event_ms_.load(std::memory_order_relaxed);
  if (last != 0 && now_ms + 1 < last + kRemoteLimitEventIntervalMs) return false;
  return remote_limit_event_ms_.compare_exchange_strong(last, now_ms + 1, std::memory_order_relaxed);
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
  if (remote != nullptr && (mode() & kModeAddressDependent) &&
      !remote_allowed(*e, *remote, now_ms))
    return Nat66Lookup::filtered;
  bind(*e, handle, out);
  return Nat66Lookup::found;
}

// --- per-packet update (shard lock held) ---

// Counts the packet and refreshes remote `r` (null: an inbound packet that matched no remote of its own: a
// TCP segment from another port of a remote address, or any packet under endpoint-independent filtering) and
// the mapping.
inline void Nat66Table::touch(Shard& s, uint32_t slot, bool outbound, bool refresh, Nat66Remote* r, const Nat66Flow& f,
                              uint64_t now_ms) noexcept {
  Entry& e = s.at(slot);
  e.last_ms = now_ms;
  if (outbound) {
    ++e.packets_out;
    e.bytes_out += f.bytes;
    e.last_remote = f.dst;
    e.remote_port = f.dport;
    r->port = f.dport;  // TCP: the same (part of the key); UDP: the last port sent to
  } else {
    ++e.packets_in;
    e.bytes_in += f.bytes;
  }

  if (r == nullptr) {
    // Endpoint-independent filtering lets anyone refresh the mapping itself (RFC 4787 REQ-6); TCP state
    // belongs to connections, so a segment of none changes nothing.
    if (refresh && e.proto != Nat66Proto::tcp) e.expires_ms = std::max(e.expires_ms, now_ms + timeout_for(e.state));
  } else if (e.proto != Nat66Proto::tcp) {
    if (refresh) r->expires_ms = now_ms + timeout_for(e.state);
    e.expires_ms = std::max(e.expires_ms, r->expires_ms);
  } else {
    // TCP, per connection (RFC 5382 s5, RFC 7857 s2.2): established once packets have gone both ways since
    // the last outbound SYN; transitory before that, after a RST, or once FINs have gone both ways.
    uint8_t fl = f.tcp_flags;
    if (fl & tcpflag::kRst) {
      r->tcp |= kReset;
    } else {
      if (outbound && (fl & (tcpflag::kSyn | tcpflag::kAck)) == tcpflag::kSyn) r->tcp = 0;  // a new connection
      r->tcp |= outbound ? kSeenOut : kSeenIn;
      if (fl & tcpflag::kFin) r->tcp |= outbound ? kFinOut : kFinIn;
    }
    bool closing = (r->tcp & kReset) || ((r->tcp & kFinOut) && (r->tcp & kFinIn));
    bool both_ways = (r->tcp & kSeenOut) && (r->tcp & kSeenIn);
    const Nat66State before = r->state;
    r->state = !closing && both_ways ? Nat66State::tcp_established : Nat66State::tcp_transitory;
    const uint64_t deadline = now_ms + timeout_for(r->state);
    const uint64_t old_deadline = r->expires_ms;
    if (refresh)
      r->expires_ms = deadline;
    else if (r->state != before)
      r->expires_ms = std::min(r->expires_ms, deadline);  // a close seen inbound may shorten, never lengthen
    if (r->expires_ms < old_deadline && e.far != nullptr) e.far->deadline_lowered(r->expires_ms);
    if (r->state == Nat66State::tcp_established) {
      set_state(e, Nat66State::tcp_established);
      e.expires_ms = std::max(e.expires_ms, r->expires_ms);
    } else if (before == Nat66State::tcp_established || r->expires_ms < old_deadline) {
      settle(e, now_ms);  // this connection left established or its timer shrank: look at the others
    } else {
      e.expires_ms = std::max(e.expires_ms, r->expires_ms);
    }
  }
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
  if (live_.fetch_add(1, std::memory_order_relaxed) >= max_mappings_.load(std::memory_order_relaxed)) {
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
  Address outside;
  const int chosen = outside_slot(f.src, outside);
  if (chosen < 0) return undo(Counter::drop_nat66_no_address);
  const size_t pool = static_cast<size_t>(chosen);
  const uint64_t m = mode();  // one load: the range and the flag of one set of tunables
  uint16_t lo = mode_port_min(m), hi = mode_port_max(m);
  if ((m & kModeKeepPrivileged) && f.proto != Nat66Proto::icmp && f.sport > 0 && f.sport < 1024)
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
    record(e, now_ms, event->mapping);
  }
  delete e.far;
  e.far = nullptr;
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
  static constexpr size_t kMax = 2;  // a packet makes at most a state change and a remote added or refused
  unsigned char bytes[kMax * sizeof(Nat66MappingEvent)];
  size_t count = 0;
  Nat66MappingEvent* get() noexcept { return std::launder(reinterpret_cast<Nat66MappingEvent*>(bytes)); }
  Nat66MappingEvent& add(Nat66EventType type, uint64_t now_ms) noexcept {
    Nat66MappingEvent* e = new (bytes + count++ * sizeof(Nat66MappingEvent)) Nat66MappingEvent{};
    e->type = type;
    e->time_ms = now_ms;
    return *e;
  }
};
static_assert(std::is_trivially_destructible_v<Nat66MappingEvent>);
}  // namespace

inline Counter Nat66Table::outbound_locked(Shard& s, uint32_t shard_no, uint64_t h, const Nat66Flow& f, uint64_t now_ms,
                                    Nat66Binding& out, CounterBlock& counters, void* event_storage) noexcept {
  EventStorage& events = *static_cast<EventStorage*>(event_storage);
  const bool want_events = config_.event_capacity != 0;
  const uint32_t tag = static_cast<uint32_t>(h);
  uint32_t slot = find_slot_locked(s, tag, f.proto, f.src, f.sport);
  bool created = false;
  if (slot == Nat66Index::kNone) {
    if (Counter why = create_locked(s, shard_no, tag, f, now_ms, slot); why != Counter::count_) return why;
    created = true;
  }
  Entry& e = s.at(slot);
  // The remote: most packets go to one already live (for one remote, the first near slot).
  Nat66Remote* r = find_remote(e, f.dst, f.dport);
  bool added = false;
  if (r == nullptr || !r->live(now_ms)) {
    if (Counter why = add_remote(e, f, now_ms, r); why != Counter::count_) {
      if (why == Counter::drop_nat66_remote_limit && want_events && remote_limit_event_due(now_ms)) {
        Nat66MappingEvent& ev = events.add(Nat66EventType::remote_limit, now_ms);
        record(e, now_ms, ev.mapping);
        ev.mapping.remote = f.dst;
        ev.mapping.remote_port = f.dport;
      }
      return why;  // a new mapping always has room for its first remote, so nothing to undo
    }
    added = true;
    counters.add(Counter::nat66_remote_added);
  }
  Nat66State before = e.state;
  touch(s, slot, true, true, r, f, now_ms);
  if (want_events && (created || added || e.state != before)) {
    if (!created && e.state != before) record(e, now_ms, events.add(Nat66EventType::updated, now_ms).mapping);
    if (created || added)
      record(e, now_ms, events.add(created ? Nat66EventType::created : Nat66EventType::remote_added, now_ms).mapping);
  }
  if (created) counters.add(Counter::nat66_mapping_created);
  bind(e, shard_no << kSlotBits | slot, out);
  return Counter::count_;
}

Counter Nat66Table::outbound(const Nat66Flow& f, uint64_t now_ms, Nat66Binding& out, CounterBlock& counters) noexcept {
  const uint64_t h = hash_inside(f.proto, f.src, f.sport);
  const uint32_t shard_no = static_cast<uint32_t>(h >> (64 - kShardBits));
  Shard& s = shards_[shard_no];
  EventStorage events;
  Counter result;
  {
    std::lock_guard guard(s.lock);
    result = outbound_locked(s, shard_no, h, f, now_ms, out, counters, &events);
  }
  if (events.count != 0) publish(events.get(), events.count, counters);
  return result;
}

inline Nat66Lookup Nat66Table::inbound_locked(Shard& s, uint32_t handle, int pool, uint64_t m, const Nat66Flow& f,
                                              uint64_t now_ms, Nat66Binding& out, void* event_storage) noexcept {
  EventStorage& events = *static_cast<EventStorage*>(event_storage);
  Entry* e = resolve_outside_locked(s, handle, f.proto, pool, f.dport, now_ms);
  if (e == nullptr) return Nat66Lookup::absent;
  // The remote's own entry (TCP: this connection), if live. Address-dependent filtering also lets a TCP
  // segment in from another port of a live remote address (the mapping is address-dependent, not
  // address-and-port-dependent, RFC 5382 REQ-3); it has no connection to track.
  Nat66Remote* r = find_remote(*e, f.src, f.sport);
  if (r != nullptr && !r->live(now_ms)) r = nullptr;
  if (r == nullptr && (m & kModeAddressDependent) &&
      (e->proto != Nat66Proto::tcp || !remote_allowed(*e, f.src, now_ms)))
    return Nat66Lookup::filtered;
  Nat66State before = e->state;
  touch(s, handle & kSlotMask, false, (m & kModeInboundRefresh) != 0, r, f, now_ms);
  if (e->state != before && config_.event_capacity != 0)
    record(*e, now_ms, events.add(Nat66EventType::updated, now_ms).mapping);
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
  const uint64_t m = mode();  // filtering and inbound refresh, read before the lock
  EventStorage events;
  Nat66Lookup result;
  {
    std::lock_guard guard(s.lock);
    result = inbound_locked(s, handle, pool, m, f, now_ms, out, &events);
  }
  if (events.count != 0) publish(events.get(), events.count, counters);
  return result;
}

namespace {
std::vector<Address> joined(std::vector<Address> a, const std::vector<Address>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
}  // namespace

std::string Nat66Table::set_sources(std::vector<Prefix> prefixes) {
  std::lock_guard lock(change_mutex_);
  if (std::string error = validate_sources(prefixes); !error.empty()) return error;
  if (std::string error = validate_outside(joined(pool_.in_use(), pool_.kept()), prefixes); !error.empty()) return error;
  sources_.store(std::make_shared<const Nat66Sources>(Nat66Sources{std::move(prefixes)}), std::memory_order_release);
  stale_passes_.store(2, std::memory_order_release);
  return {};
}

std::string Nat66Table::set_outside(const std::vector<Address>& use, const std::vector<Address>& keep) {
  std::lock_guard lock(change_mutex_);
  if (std::string error = validate_outside(joined(use, keep), sources()->prefixes); !error.empty()) return error;
  if (std::string error = pool_.set(use, keep); !error.empty()) return error;
  if (pool_.any_retiring()) stale_passes_.store(2, std::memory_order_release);
  return {};
}

std::string Nat66Table::set_forwards(std::vector<Nat66Forward> forwards) {
  std::lock_guard lock(change_mutex_);  // with set_tunables: checked against the range in force
  AllShardsLocked quiet(*this);
  if (std::string error = check_forwards_locked(forwards, tunables()); !error.empty()) return error;
  store_forwards_locked(std::move(forwards));
  return {};
}

void Nat66Table::snapshot(std::vector<Nat66MappingRecord>& out, uint64_t now_ms,
                          std::vector<Nat66Remote>* remotes) const {
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard guard(s.lock);
    for (uint32_t slot = 0; slot < s.high_water; ++slot) {
      const Entry& e = s.at(slot);
      if (!e.live) continue;
      out.emplace_back();
      record(e, now_ms, out.back());
      if (remotes == nullptr) continue;
      out.back().remotes_first = static_cast<uint32_t>(remotes->size());
      auto add = [&](const Nat66Remote& r) {
        if (r.live(now_ms)) remotes->push_back(r);
      };
      for (const Nat66Remote& r : e.near) add(r);
      if (e.far != nullptr) e.far->for_each(add);
    }
  }
}

}  // namespace npt66
