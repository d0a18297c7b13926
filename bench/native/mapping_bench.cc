// Mapping lookup (longest-prefix match) plus map_address with 1, 16 and 1024 prefix pairs: the per-packet
// cost of choosing a mapping and rewriting the address, apart from parsing.
#include <benchmark/benchmark.h>

#include <random>

#include "bench_packets.h"

namespace npt66::bench {
namespace {

void BM_MatchAndMap(benchmark::State& state) {
  const size_t pairs = static_cast<size_t>(state.range(0));
  auto table = table_of(pairs);
  // 4096 inside addresses spread over all pairs in random order, so the branch predictor cannot learn one.
  std::vector<Address> addrs(4096);
  std::mt19937 rng(66);
  for (auto& a : addrs) {
    a = parse_address("fd00::1");
    a.set_word(1, static_cast<uint16_t>(1 + rng() % pairs));
    a.set_word(3, static_cast<uint16_t>(rng() % 0xFFFE));
    a.set_word(7, static_cast<uint16_t>(1 + rng() % 0xFFFE));
  }
  size_t i = 0, translated = 0;
  for (auto _ : state) {
    Address a = addrs[i++ & 4095];
    const Mapping* m = table->match(a, Direction::outbound);
    if (m != nullptr && map_address(*m, Direction::outbound, a) == Counter::count_) ++translated;
    benchmark::DoNotOptimize(a);
  }
  if (translated != static_cast<size_t>(state.iterations())) state.SkipWithError("an address was not translated");
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_MatchAndMap)->Arg(1)->Arg(16)->Arg(1024);

}  // namespace
}  // namespace npt66::bench
