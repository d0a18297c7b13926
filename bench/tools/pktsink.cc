// pktsink: counts the benchmark's UDP packets arriving on one interface (AF_PACKET with a TPACKET_V2 receive
// ring: no per-packet syscall, no socket queueing) and measures one-way latency from the send time stamped by
// pktgen (same host, CLOCK_MONOTONIC). Packets of other trials or ports are ignored. On SIGINT/SIGTERM (or
// after --duration) prints one JSON object on stdout; prints "ready" on stderr once the ring is in place.
//
//   pktsink --iface nb-k0 [--port 5001] [--trial N] [--duration S]
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <array>
#include <cstring>
#include <set>
#include <string>

#include "bench_wire.h"
#include "latency_histogram.h"

namespace npt66::bench {
namespace {

volatile sig_atomic_t g_stop = 0;

struct Options {
  std::string iface;
  uint16_t port = 5001;
  int trial = -1;  // -1: count every trial
  double duration = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "pktsink: %s\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--iface") o.iface = next();
    else if (a == "--port") o.port = static_cast<uint16_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--trial") o.trial = static_cast<int>(std::strtol(next(), nullptr, 10));
    else if (a == "--duration") o.duration = std::strtod(next(), nullptr);
    else usage(("unknown option " + a).c_str());
  }
  if (o.iface.empty()) usage("need --iface");
  return o;
}

struct Tally {
  uint64_t received = 0, bytes = 0, reordered = 0, other = 0;
  uint64_t first_ns = 0, last_ns = 0;
  int64_t max_seq = -1;
  LatencyHistogram latency;
  // The distinct source addresses among the first packets, so runs through different translators can be
  // compared: the same flows translated by the same RFC 6296 mapping give the same set (and digest).
  std::set<std::array<uint8_t, 16>> sources;
};

constexpr uint64_t kSourceSample = 200000;

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// One frame from the ring: Ethernet + IPv6 + UDP to our port with a stamp of our trial, or ignored.
void account(const Options& o, const uint8_t* frame, size_t len, Tally& t) {
  if (len < kEthLen + kMinPacket || get16(frame + 12) != ETH_P_IPV6) { ++t.other; return; }
  const uint8_t* ip = frame + kEthLen;
  const uint8_t* udp = ip + kIpv6Len;
  Stamp s;
  if (ip[6] != 17 || get16(udp + 2) != o.port || !read_stamp(udp + kUdpLen, s) ||
      (o.trial >= 0 && s.trial != o.trial)) {
    ++t.other;
    return;
  }
  const uint64_t now = monotonic_ns();
  if (t.received == 0) t.first_ns = now;
  t.last_ns = now;
  ++t.received;
  t.bytes += len - kEthLen;
  if (static_cast<int64_t>(s.seq) < t.max_seq) ++t.reordered;
  else t.max_seq = s.seq;
  if (now >= s.tx_ns) t.latency.add(now - s.tx_ns);
  if (t.received <= kSourceSample) {
    std::array<uint8_t, 16> src;
    std::memcpy(src.data(), ip + 8, 16);
    t.sources.insert(src);
  }
}

int run(const Options& o) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IPV6));
  if (fd < 0) { std::perror("pktsink: socket(AF_PACKET)"); return 1; }
  int version = TPACKET_V2;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) { std::perror("pktsink: PACKET_VERSION"); return 1; }
  tpacket_req req{};
  req.tp_block_size = 1 << 22;
  req.tp_frame_size = 2048;  // holds tpacket2_hdr + a 1500-byte frame
  req.tp_block_nr = 16;
  req.tp_frame_nr = req.tp_block_size / req.tp_frame_size * req.tp_block_nr;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) { std::perror("pktsink: PACKET_RX_RING"); return 1; }
  const size_t ring_len = size_t{req.tp_block_size} * req.tp_block_nr;
  auto* ring = static_cast<uint8_t*>(mmap(nullptr, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (ring == MAP_FAILED) { std::perror("pktsink: mmap"); return 1; }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_IPV6);
  sll.sll_ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
  if (sll.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    std::perror("pktsink: bind");
    return 1;
  }
  std::fprintf(stderr, "ready\n");

  Tally t;
  const uint64_t end = o.duration > 0 ? monotonic_ns() + static_cast<uint64_t>(o.duration * 1e9) : UINT64_MAX;
  size_t slot = 0;
  for (;;) {
    auto* h = reinterpret_cast<tpacket2_hdr*>(ring + slot * req.tp_frame_size);
    if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) {
      account(o, reinterpret_cast<uint8_t*>(h) + h->tp_mac, h->tp_snaplen, t);
      __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      slot = (slot + 1) % req.tp_frame_nr;
      continue;
    }
    if (g_stop || monotonic_ns() >= end) break;
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, 20);
  }

  tpacket_stats stats{};
  socklen_t slen = sizeof stats;
  getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &slen);
  uint64_t digest = 0;
  for (const auto& a : t.sources) digest += fnv1a(a.data(), a.size());
  char first[INET6_ADDRSTRLEN] = "";
  if (!t.sources.empty()) inet_ntop(AF_INET6, t.sources.begin()->data(), first, sizeof first);
  const double span = t.received > 1 ? static_cast<double>(t.last_ns - t.first_ns) / 1e9 : 0;
  std::printf("{\"received\":%llu,\"bytes\":%llu,\"ringDrops\":%u,\"reordered\":%llu,\"ignored\":%llu,"
              "\"maxSeq\":%lld,\"spanSeconds\":%.6f,"
              "\"sources\":{\"distinct\":%zu,\"digest\":\"%016llx\",\"lowest\":\"%s\"},"
              "\"latencyNs\":{\"samples\":%llu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}}\n",
              static_cast<unsigned long long>(t.received), static_cast<unsigned long long>(t.bytes), stats.tp_drops,
              static_cast<unsigned long long>(t.reordered), static_cast<unsigned long long>(t.other),
              static_cast<long long>(t.max_seq), span, t.sources.size(),
              static_cast<unsigned long long>(digest), first, static_cast<unsigned long long>(t.latency.count()),
              static_cast<unsigned long long>(t.latency.quantile(0.50)),
              static_cast<unsigned long long>(t.latency.quantile(0.90)),
              static_cast<unsigned long long>(t.latency.quantile(0.99)), static_cast<unsigned long long>(t.latency.max()));
  munmap(ring, ring_len);
  close(fd);
  return 0;
}

}  // namespace
}  // namespace npt66::bench

int main(int argc, char** argv) {
  struct sigaction sa{};
  sa.sa_handler = [](int) { npt66::bench::g_stop = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return npt66::bench::run(npt66::bench::parse(argc, argv));
}
