// udpgso_send: a UDP GSO sender, as QUIC stacks send: one flow, each send() a super-datagram that the kernel (or
// the NIC) cuts into --segment-byte packets (setsockopt SOL_UDP UDP_SEGMENT, Linux 4.18+). Sends as fast as it
// can for --duration seconds and prints one JSON object on stdout. Every segment's payload starts with the
// benchmark stamp (bench_wire.h: trial id, sequence number, send time) so the sink can tell intact segments of
// its own trial from anything else.
//
//   udpgso_send --dst 2001:db8:ff::2 --port 5003 [--segment 1400] [--send 65536] [--duration 2] [--trial N]
//               [--gbps G]   (pace the payload to G Gbit/s; default: as fast as sends return)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_wire.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // include/uapi/linux/udp.h
#endif

namespace npt66::bench {
namespace {

// The kernel refuses a send of more segments than this (UDP_MAX_SEGMENTS, 64 before Linux 6.9, 128 since).
constexpr size_t kMaxSegmentsPerSend = 64;

struct Options {
  std::string dst;
  uint16_t port = 5003;
  size_t segment = 1400;  // IPv6 packet length of each segment, as "packet size" everywhere in the benchmarks
  size_t send = 65536;    // bytes of UDP payload per send(), rounded down to whole segments
  double duration = 2;
  uint16_t trial = 0;
  double gbps = 0;  // 0: unpaced
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "udpgso_send: %s\n", why);
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
    if (a == "--dst") o.dst = next();
    else if (a == "--port") o.port = static_cast<uint16_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--segment") o.segment = std::strtoul(next(), nullptr, 10);
    else if (a == "--send") o.send = std::strtoul(next(), nullptr, 10);
    else if (a == "--duration") o.duration = std::strtod(next(), nullptr);
    else if (a == "--gbps") o.gbps = std::strtod(next(), nullptr);
    else if (a == "--trial") o.trial = static_cast<uint16_t>(std::strtoul(next(), nullptr, 10));
    else usage(("unknown option " + a).c_str());
  }
  if (o.dst.empty()) usage("need --dst");
  if (o.segment < kMinPacket || o.segment > 1500) usage("--segment must be 64..1500 (IPv6 packet length)");
  return o;
}

int run(const Options& o) {
  sockaddr_in6 dst{};
  dst.sin6_family = AF_INET6;
  dst.sin6_port = htons(o.port);
  if (inet_pton(AF_INET6, o.dst.c_str(), &dst.sin6_addr) != 1) usage("--dst is not an IPv6 address");
  const size_t payload = o.segment - kIpv6Len - kUdpLen;  // UDP payload per segment: the gso_size
  // The whole super-datagram must fit one UDP length field (RFC 8200 has no jumbograms here) and the kernel's
  // segment limit.
  const size_t segments = std::clamp<size_t>(std::min(o.send, size_t{65535 - kUdpLen}) / payload, 1, kMaxSegmentsPerSend);

  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) { std::perror("udpgso_send: socket"); return 1; }
  int gso = static_cast<int>(payload);
  if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso, sizeof gso) < 0) { std::perror("udpgso_send: UDP_SEGMENT"); return 1; }
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);  // as root; else the default stays
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0) { std::perror("udpgso_send: connect"); return 1; }

  std::vector<uint8_t> buf(segments * payload, 0);
  uint64_t sends = 0, sent_segments = 0, sent_bytes = 0, errors = 0;
  uint32_t seq = 0;
  const uint64_t start = monotonic_ns();
  const uint64_t end = start + static_cast<uint64_t>(o.duration * 1e9);
  uint64_t now = start;
  while (now < end) {
    for (size_t s = 0; s < segments; ++s) write_stamp(buf.data() + s * payload, Stamp{o.trial, seq + uint32_t(s), now});
    ssize_t n = send(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      // ENOBUFS/EAGAIN: a full device queue; ECONNREFUSED: an ICMPv6 error came back. Count and go on.
      ++errors;
      if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) {
        std::perror("udpgso_send: send");
        return 1;
      }
    } else {
      ++sends;
      sent_segments += segments;
      sent_bytes += static_cast<uint64_t>(n);
      seq += static_cast<uint32_t>(segments);
    }
    now = monotonic_ns();
    if (o.gbps > 0) {
      // Next send when the payload so far is due at the paced rate (absolute, so oversleeping does not add up).
      const uint64_t due = start + static_cast<uint64_t>(static_cast<double>(sent_bytes) * 8 / o.gbps);
      if (due > now && due < end) {
        timespec ts{static_cast<time_t>(due / 1000000000ull), static_cast<long>(due % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        now = monotonic_ns();
      }
    }
  }
  const double seconds = static_cast<double>(now - start) / 1e9;
  std::printf("{\"sends\":%llu,\"segments\":%llu,\"bytes\":%llu,\"errors\":%llu,\"seconds\":%.6f,"
              "\"segmentPayload\":%zu,\"segmentsPerSend\":%zu,\"offeredBitsPerSecond\":%.0f}\n",
              static_cast<unsigned long long>(sends), static_cast<unsigned long long>(sent_segments),
              static_cast<unsigned long long>(sent_bytes), static_cast<unsigned long long>(errors), seconds, payload,
              segments, seconds > 0 ? static_cast<double>(sent_bytes) * 8 / seconds : 0.0);
  close(fd);
  return 0;
}

}  // namespace
}  // namespace npt66::bench

int main(int argc, char** argv) { return npt66::bench::run(npt66::bench::parse(argc, argv)); }
