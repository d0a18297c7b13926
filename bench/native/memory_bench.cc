// What the machine's memory allows, for reading the masquerade numbers: random 64-byte lines in a 256 MB array on
// transparent huge pages (about the footprint of a million-mapping table), read one after another where each
// address depends on the previous line (a lookup's latency floor per cold line) and independently (the best
// a batch with prefetching can reach per cold line). A table lookup touches two to four cold lines.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace npt66::bench {
namespace {

constexpr size_t kBytes = size_t{256} << 20;
constexpr size_t kLines = kBytes / 64;

// Each line's first word holds the index of the next line of one random cycle through all lines.
struct Lines {
  uint64_t* mem = nullptr;
  std::vector<uint32_t> random;  // independent random line indices
  Lines() {
    mem = static_cast<uint64_t*>(std::aligned_alloc(size_t{2} << 20, kBytes));
    madvise(mem, kBytes, MADV_HUGEPAGE);
    std::vector<uint32_t> order(kLines);
    std::iota(order.begin(), order.end(), 0u);
    std::mt19937 rng(66);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i = 0; i < kLines; ++i) mem[uint64_t{order[i]} * 8] = order[(i + 1) % kLines];
    random.resize(1u << 20);
    for (auto& x : random) x = static_cast<uint32_t>(rng() % kLines);
  }
  ~Lines() { std::free(mem); }
};

Lines& lines() {
  static Lines l;
  return l;
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_line"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_MemoryRandomLineDependent(benchmark::State& state) {
  Lines& l = lines();
  uint64_t at = 0;
  for (auto _ : state) at = l.mem[at * 8];
  benchmark::DoNotOptimize(at);
  report(state);
}
BENCHMARK(BM_MemoryRandomLineDependent);

void BM_MemoryRandomLineIndependent(benchmark::State& state) {
  Lines& l = lines();
  uint64_t sum = 0;
  size_t i = 0;
  for (auto _ : state) sum += l.mem[uint64_t{l.random[i++ & 0xFFFFF]} * 8];
  benchmark::DoNotOptimize(sum);
  report(state);
}
BENCHMARK(BM_MemoryRandomLineIndependent);

}  // namespace
}  // namespace npt66::bench
