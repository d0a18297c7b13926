// NAT66 masquerade table (native/core/nat66_table.h): per-packet lookup of an existing mapping in both
// directions and creation of new mappings, with 1 k, 100 k and 1 M live mappings; and the shared table under
// several threads at once (a flow's two directions can land on different queue threads).
// Target (issue 5): lookup <= 30 ns at 1 M mappings. Reports ns/packet and packets/s.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <vector>

#include "bench_packets.h"
#include "nat66_table.h"

namespace npt66::bench {
namespace {

constexpr uint64_t kNow = 1'000'000;  // ms; nothing expires during a benchmark

// UDP flow j of the workload: 64 flows per inside host, each host in its own /64 of fd00::/32 (so the per-/64
// limit never bites), all to one remote. Ports >= 1024 so they draw from the configured range.
Nat66Flow flow(uint32_t j) {
  Nat66Flow f;
  f.proto = Nat66Proto::udp;
  f.src = parse_address("fd00::1");
  f.src.set_word(2, static_cast<uint16_t>(j >> 22));
  f.src.set_word(3, static_cast<uint16_t>(j >> 6));
  f.sport = static_cast<uint16_t>(10000 + (j & 63));
  f.dst = parse_address("2001:db8:ff::2");
  f.dport = 5001;
  f.bytes = 64;
  return f;
}

std::unique_ptr<Nat66Table> make_table(uint32_t capacity) {
  Nat66Config c;
  c.inside = {parse_prefix("fd00::", 32)};
  // One outside address per 16 k mappings (each has 64 k ports; paired pooling spreads the hosts unevenly), up to
  // the most a table takes (61: the pool keeps spare slots for address changes), enough for a million. Fewer for
  // small tables, since the port ownership array grows with the pool.
  constexpr uint32_t kMost = Nat66Pool::kMaxSlots - Nat66Pool::kSpareSlots;
  const uint32_t pool = std::min<uint32_t>(kMost, std::max<uint32_t>(1, (capacity + 16383) / 16384));
  for (uint32_t i = 0; i < pool; ++i) {
    Address a = parse_address("2001:db8:ff::100");
    a.set_word(7, static_cast<uint16_t>(0x100 + i));
    c.outside.push_back(a);
  }
  c.port_min = 1024;
  c.port_max = 65535;
  c.max_mappings = capacity;
  c.event_capacity = 0;  // no consumer here
  c.seed = 66;
  std::string error;
  auto t = Nat66Table::create(c, error);
  if (!t) throw std::runtime_error(error);
  return t;
}

// A table holding flows [0, n) and the outside binding of each.
struct Filled {
  std::unique_ptr<Nat66Table> table;
  std::vector<Nat66Binding> bindings;
};

Filled fill(uint32_t n, uint32_t capacity) {
  Filled r{make_table(capacity), std::vector<Nat66Binding>(n)};
  CounterBlock counters;
  for (uint32_t j = 0; j < n; ++j) {
    if (r.table->outbound(flow(j), kNow, r.bindings[j], counters) != Counter::count_)
      throw std::runtime_error("could not fill the table");
  }
  return r;
}

// Filling a million mappings takes a while and Google Benchmark calls each function several times, so the
// lookup benchmarks (which never add or remove mappings) share one filled table per size, built once.
Filled& filled(uint32_t n) {
  static std::mutex mu;
  static std::map<uint32_t, Filled> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, fill(n, n + 1024)).first;
  return it->second;
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Random order over the live flows, precomputed so the loop measures the table, not the random generator.
std::vector<uint32_t> shuffled(uint32_t n) {
  std::vector<uint32_t> order(1u << 16);
  std::mt19937 rng(66);
  for (auto& x : order) x = rng() % n;
  return order;
}

// Outbound packet of an existing flow: find the mapping, refresh it, count it (the per-packet path).
void BM_Nat66LookupOutbound(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  Filled& f = filled(n);
  auto order = shuffled(n);
  std::vector<Nat66Flow> flows(order.size());
  for (size_t i = 0; i < order.size(); ++i) flows[i] = flow(order[i]);
  CounterBlock counters;
  Nat66Binding b;
  size_t i = 0, bad = 0;
  for (auto _ : state) {
    bad += f.table->outbound(flows[i++ & 0xFFFF], kNow, b, counters) != Counter::count_;
    benchmark::DoNotOptimize(b);
  }
  if (bad) state.SkipWithError("an outbound lookup failed");
  report(state);
}

// Inbound reply to an existing mapping: resolve outside address+port, check filtering, refresh.
void BM_Nat66LookupInbound(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  Filled& f = filled(n);
  auto order = shuffled(n);
  std::vector<Nat66Flow> replies(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const Nat66Binding& m = f.bindings[order[i]];
    Nat66Flow r = flow(order[i]);
    replies[i].proto = Nat66Proto::udp;
    replies[i].src = r.dst;
    replies[i].sport = r.dport;
    replies[i].dst = m.outside;
    replies[i].dport = m.outside_port;
    replies[i].bytes = 64;
  }
  CounterBlock counters;
  Nat66Binding b;
  size_t i = 0, bad = 0;
  for (auto _ : state) {
    bad += f.table->inbound(replies[i++ & 0xFFFF], kNow, b, counters) != Nat66Lookup::found;
    benchmark::DoNotOptimize(b);
  }
  if (bad) state.SkipWithError("an inbound lookup failed");
  report(state);
}

// A new flow's first packet: allocate a port and insert. The table grows from n by at most a tenth (at least
// 1 k) before it is refilled, outside the timed region; the growing table is kept across calls.
void BM_Nat66Create(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const uint32_t batch = std::max<uint32_t>(1024, n / 10);
  struct Growing {
    Filled f;
    uint32_t next = 0;
  };
  static std::map<uint32_t, Growing> tables;
  Growing& g = tables[n];
  CounterBlock counters;
  Nat66Binding b;
  size_t bad = 0;
  for (auto _ : state) {
    if (!g.f.table || g.next == n + batch) {
      state.PauseTiming();
      g.f = fill(n, n + batch);
      g.next = n;
      state.ResumeTiming();
    }
    bad += g.f.table->outbound(flow(g.next++), kNow, b, counters) != Counter::count_;
    benchmark::DoNotOptimize(b);
  }
  if (bad) state.SkipWithError("a create failed");
  report(state);
}

BENCHMARK(BM_Nat66LookupOutbound)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_Nat66LookupInbound)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_Nat66Create)->Arg(1000)->Arg(100000)->Arg(1000000);

// Shared-table scaling: every thread does outbound lookups of existing flows (mostly different shards), and
// one packet in 64 is an inbound reply; the 1 M table of the lookup benchmarks, shared by all threads.
void BM_Nat66SharedTable(benchmark::State& state) {
  Filled& f = filled(1000000);
  std::mt19937 rng(static_cast<uint32_t>(66 + state.thread_index()));
  std::vector<Nat66Flow> flows(1u << 16), replies(1u << 16);
  for (size_t i = 0; i < flows.size(); ++i) {
    const uint32_t j = rng() % 1000000;
    flows[i] = flow(j);
    replies[i].proto = Nat66Proto::udp;
    replies[i].src = flows[i].dst;
    replies[i].sport = flows[i].dport;
    replies[i].dst = f.bindings[j].outside;
    replies[i].dport = f.bindings[j].outside_port;
  }
  CounterBlock counters;  // one per thread, as each queue thread has its own
  Nat66Binding b;
  size_t i = 0, bad = 0;
  for (auto _ : state) {
    const size_t k = i++ & 0xFFFF;
    if ((k & 63) == 0) bad += f.table->inbound(replies[k], kNow, b, counters) != Nat66Lookup::found;
    else bad += f.table->outbound(flows[k], kNow, b, counters) != Counter::count_;
    benchmark::DoNotOptimize(b);
  }
  if (bad) state.SkipWithError("a lookup failed");
  report(state);
}
BENCHMARK(BM_Nat66SharedTable)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// Many remotes per mapping (issue 13): 1000 mappings, each of whose sockets has sent to R remote addresses (a
// resolver with several upstreams, a DHT node); inbound replies from random ones of them, and (the filter's
// other answer) from addresses never sent to. R = 1 and 4 stay in the entry; 16 and 256 use the remote set.
void BM_Nat66InboundManyRemotes(benchmark::State& state) {
  const uint32_t remotes = static_cast<uint32_t>(state.range(0));
  const bool known = state.range(1) != 0;
  constexpr uint32_t kMappings = 1000;
  auto table = make_table(kMappings + 1024);
  std::vector<Nat66Binding> bindings(kMappings);
  auto remote = [](uint32_t i) {
    Address a = parse_address("2001:db8:ff::");
    a.set_word(6, static_cast<uint16_t>(i >> 16));
    a.set_word(7, static_cast<uint16_t>(i));
    return a;
  };
  CounterBlock counters;
  Nat66Config limit_check;  // the default limit must allow the largest R here
  if (remotes > limit_check.max_remotes_per_mapping) throw std::runtime_error("R above the default limit");
  for (uint32_t r = 0; r < remotes; ++r)
    for (uint32_t j = 0; j < kMappings; ++j) {
      Nat66Flow f = flow(j);
      f.dst = remote(r);
      if (table->outbound(f, kNow, bindings[j], counters) != Counter::count_) throw std::runtime_error("fill failed");
    }
  std::mt19937 rng(66);
  std::vector<Nat66Flow> replies(1u << 16);
  for (auto& r : replies) {
    const uint32_t j = rng() % kMappings;
    r.proto = Nat66Proto::udp;
    r.src = remote(known ? rng() % remotes : remotes + rng() % 100000);
    r.sport = 5001;
    r.dst = bindings[j].outside;
    r.dport = bindings[j].outside_port;
    r.bytes = 64;
  }
  const Nat66Lookup expect = known ? Nat66Lookup::found : Nat66Lookup::filtered;
  Nat66Binding b;
  size_t i = 0, bad = 0;
  for (auto _ : state) {
    bad += table->inbound(replies[i++ & 0xFFFF], kNow, b, counters) != expect;
    benchmark::DoNotOptimize(b);
  }
  if (bad) state.SkipWithError("an inbound lookup gave the wrong answer");
  report(state);
}
BENCHMARK(BM_Nat66InboundManyRemotes)->ArgsProduct({{1, 4, 16, 256}, {1, 0}})->ArgNames({"remotes", "known"});

}  // namespace
}  // namespace npt66::bench
