// udp_gro_sink: the receiving end of the UDP GSO row. A UDP socket with UDP_GRO, so a super-datagram that
// arrives whole is read in one recvmmsg slot and a segmented one costs the sink no more than necessary: the sink
// should never be what limits the row. Counts segments (a GRO read holds ceil(length / gso_size) of them) and,
// among them, those whose payload starts with this trial's stamp (bench_wire.h). Reads the namespace's
// Udp6RcvbufErrors / Udp6InCsumErrors (/proc/net/snmp6) before and after, so a sink that overflowed or a
// checksum the gateway broke shows in the result. Prints "ready" on stderr once bound and one JSON object on
// stdout at SIGINT/SIGTERM (or after --duration).
//
//   udp_gro_sink [--port 5003] [--trial N] [--duration S]
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_wire.h"

#ifndef UDP_GRO
#define UDP_GRO 104  // include/uapi/linux/udp.h
#endif

namespace npt66::bench {
namespace {

volatile sig_atomic_t g_stop = 0;

struct Options {
  uint16_t port = 5003;
  int trial = -1;  // -1: every trial's stamp counts as intact
  double duration = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "udp_gro_sink: %s\n", why);
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
    if (a == "--port") o.port = static_cast<uint16_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--trial") o.trial = static_cast<int>(std::strtol(next(), nullptr, 10));
    else if (a == "--duration") o.duration = std::strtod(next(), nullptr);
    else usage(("unknown option " + a).c_str());
  }
  return o;
}

// One counter of this network namespace's /proc/net/snmp6 ("Udp6RcvbufErrors  12"), 0 if absent.
uint64_t snmp6(const std::string& name) {
  std::ifstream f("/proc/net/snmp6");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    uint64_t value = 0;
    if (in >> key >> value && key == name) return value;
  }
  return 0;
}

struct Tally {
  uint64_t reads = 0, segments = 0, bytes = 0, intact = 0, foreign = 0;
  uint64_t first_ns = 0, last_ns = 0;
};

// One read: `len` bytes of UDP payload, `gso_size` per segment (the whole read when it came unsegmented).
void account(const Options& o, const uint8_t* data, size_t len, size_t gso_size, Tally& t) {
  if (gso_size == 0 || gso_size > len) gso_size = len;
  const uint64_t now = monotonic_ns();
  if (t.reads == 0) t.first_ns = now;
  t.last_ns = now;
  ++t.reads;
  t.bytes += len;
  for (size_t off = 0; off < len; off += gso_size) {
    ++t.segments;
    Stamp s;
    const bool ours = len - off >= kStampLen && read_stamp(data + off, s) && (o.trial < 0 || s.trial == o.trial);
    ++(ours ? t.intact : t.foreign);
  }
}

int run(const Options& o) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) { std::perror("udp_gro_sink: socket"); return 1; }
  int on = 1;
  if (setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) < 0) { std::perror("udp_gro_sink: UDP_GRO"); return 1; }
  int rcvbuf = 64 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);  // as root; else the default stays
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(o.port);
  addr.sin6_addr = in6addr_any;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) { std::perror("udp_gro_sink: bind"); return 1; }
  const uint64_t rcvbuf_errors0 = snmp6("Udp6RcvbufErrors"), csum_errors0 = snmp6("Udp6InCsumErrors");
  std::fprintf(stderr, "ready\n");

  constexpr size_t kBatch = 32, kBuf = 65536;
  std::vector<uint8_t> bufs(kBatch * kBuf);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<std::array<uint8_t, CMSG_SPACE(sizeof(int))>> controls(kBatch);
  Tally t;
  const uint64_t end = o.duration > 0 ? monotonic_ns() + static_cast<uint64_t>(o.duration * 1e9) : UINT64_MAX;
  while (!g_stop && monotonic_ns() < end) {
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {bufs.data() + i * kBuf, kBuf};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = controls[i].data();
      msgs[i].msg_hdr.msg_controllen = controls[i].size();
    }
    int n = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, 20);
      continue;
    }
    for (int i = 0; i < n; ++i) {
      size_t gso_size = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
          int v;
          std::memcpy(&v, CMSG_DATA(c), sizeof v);
          gso_size = static_cast<size_t>(v);
        }
      }
      account(o, bufs.data() + i * kBuf, msgs[i].msg_len, gso_size, t);
    }
  }
  const double span = t.reads > 1 ? static_cast<double>(t.last_ns - t.first_ns) / 1e9 : 0;
  std::printf("{\"reads\":%llu,\"segments\":%llu,\"bytes\":%llu,\"intact\":%llu,\"foreign\":%llu,\"spanSeconds\":%.6f,"
              "\"rcvbufErrors\":%llu,\"csumErrors\":%llu}\n",
              static_cast<unsigned long long>(t.reads), static_cast<unsigned long long>(t.segments),
              static_cast<unsigned long long>(t.bytes), static_cast<unsigned long long>(t.intact),
              static_cast<unsigned long long>(t.foreign), span,
              static_cast<unsigned long long>(snmp6("Udp6RcvbufErrors") - rcvbuf_errors0),
              static_cast<unsigned long long>(snmp6("Udp6InCsumErrors") - csum_errors0));
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
