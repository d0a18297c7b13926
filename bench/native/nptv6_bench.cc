// NPTv6 per packet: translate_nptv6 on one packet in place, 64 B and 1500 B, plain UDP and ICMPv6 error.
// Two tables map A -> B and B -> A, applied alternately, so every iteration is a real outbound translation
// of the same buffer with nothing copied between them. Reports ns/packet and packets/s.
#include <benchmark/benchmark.h>

#include "bench_packets.h"
#include "nptv6.h"

namespace npt66::bench {
namespace {

const Prefix kA = parse_prefix("fd01:203:405::", 48);  // RFC 6296 s3.6 example
const Prefix kB = parse_prefix("2001:db8:1::", 48);

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_packet"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void run(benchmark::State& state, std::vector<uint8_t> packet) {
  auto there = table_of(PrefixPair{kA, kB});
  auto back = table_of(PrefixPair{kB, kA});
  CounterBlock counters;
  bool forward = true;
  for (auto _ : state) {
    Verdict v = translate_nptv6(forward ? *there : *back, Direction::outbound, packet.data(), packet.size(), counters);
    benchmark::DoNotOptimize(v);
    benchmark::ClobberMemory();
    forward = !forward;
  }
  if (counters.get(Counter::nptv6_outbound) != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("not every packet was translated");
  report(state);
}

void BM_Nptv6Udp(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  run(state, udp_packet(size, parse_address("fd01:203:405:1::1234"), parse_address("2001:db8:ff::2")));
}
BENCHMARK(BM_Nptv6Udp)->Arg(64)->Arg(1500);

// Outbound error from an inside router about a packet that was going to an inside host: the outer source and
// the inner destination are both translated (rfc6296-bis s3.8).
void BM_Nptv6IcmpError(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  auto quoted = udp_packet(1500, parse_address("2001:db8:ff::2"), parse_address("fd01:203:405:1::1234"));
  run(state, icmp_error_packet(size, parse_address("fd01:203:405:1::1"), parse_address("2001:db8:ff::2"), quoted));
}
BENCHMARK(BM_Nptv6IcmpError)->Arg(96)->Arg(1280);  // 96: the smallest error with a whole inner header

}  // namespace
}  // namespace npt66::bench

BENCHMARK_MAIN();
