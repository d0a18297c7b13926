// pktgen: sends prebuilt Ethernet + IPv6 + UDP frames on one interface through AF_PACKET with
// PACKET_QDISC_BYPASS and sendmmsg, fast enough that the gateway, not the sender, is the bottleneck.
// Many flows (source address and port vary) so that --queue-balance, which hashes addresses, spreads them.
// Each payload carries a trial id, a sequence number and the send time for the sink (bench_wire.h).
// Prints one JSON object on stdout when done.
//
//   pktgen --iface nb-s0 --dst-mac 02:..:01 --src fd01:203:405:1::100 --dst 2001:db8:ff::2
//          [--size 64] [--flows 256] [--rate PPS (0 = as fast as possible)] [--duration S] [--trial N]
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_wire.h"
#include "checksum.h"
#include "ipv6.h"

namespace npt66::bench {
namespace {

volatile sig_atomic_t g_stop = 0;

struct Options {
  std::string iface;
  uint8_t dst_mac[6]{};
  bool have_dst_mac = false;
  Address src, dst;
  bool have_src = false, have_dst = false;
  size_t size = 64;
  unsigned flows = 256;
  double rate = 0;  // packets/s, 0 = maximum
  double duration = 1.0;
  uint16_t trial = 0;
  uint16_t dst_port = 5001;
  unsigned batch = 64;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "pktgen: %s\n", why);
  std::exit(2);
}

bool parse_mac(const char* s, uint8_t* mac) {
  unsigned v[6];
  if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v[i]);
  return true;
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
    else if (a == "--dst-mac") o.have_dst_mac = parse_mac(next(), o.dst_mac);
    else if (a == "--src") o.have_src = inet_pton(AF_INET6, next(), o.src.b.data()) == 1;
    else if (a == "--dst") o.have_dst = inet_pton(AF_INET6, next(), o.dst.b.data()) == 1;
    else if (a == "--size") o.size = std::strtoul(next(), nullptr, 10);
    else if (a == "--flows") o.flows = static_cast<unsigned>(std::strtoul(next(), nullptr, 10));
    else if (a == "--rate") o.rate = std::strtod(next(), nullptr);
    else if (a == "--duration") o.duration = std::strtod(next(), nullptr);
    else if (a == "--trial") o.trial = static_cast<uint16_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--dst-port") o.dst_port = static_cast<uint16_t>(std::strtoul(next(), nullptr, 10));
    else if (a == "--batch") o.batch = static_cast<unsigned>(std::strtoul(next(), nullptr, 10));
    else usage(("unknown option " + a).c_str());
  }
  if (o.iface.empty() || !o.have_dst_mac || !o.have_src || !o.have_dst) usage("need --iface, --dst-mac, --src, --dst");
  if (o.size < kMinPacket || o.size > 9000) usage("--size must be 64..9000 (IPv6 packet length)");
  if (o.flows == 0 || o.flows > 65535) usage("--flows must be 1..65535");
  if (o.batch == 0 || o.batch > 1024) usage("--batch must be 1..1024");
  return o;
}

// One prebuilt frame per flow. `partial` is the folded UDP checksum sum with the stamp still zero, so a
// stamped frame's checksum is the complement of partial + the stamp's words (RFC 1071 sums are additive).
struct Frame {
  std::vector<uint8_t> bytes;
  uint16_t partial = 0;
};

Frame build_frame(const Options& o, const uint8_t* src_mac, unsigned flow) {
  Frame f;
  f.bytes.assign(kEthLen + o.size, 0);
  uint8_t* e = f.bytes.data();
  std::memcpy(e, o.dst_mac, 6);
  std::memcpy(e + 6, src_mac, 6);
  put16(e + 12, ETH_P_IPV6);
  uint8_t* ip = e + kEthLen;
  const size_t l4_len = o.size - kIpv6Len;
  // Flow f: the interface identifier's last 32 bits and the source port vary, the prefix stays.
  Address src = o.src;
  src.set_word(6, static_cast<uint16_t>(o.src.word(6) + (flow >> 16)));
  src.set_word(7, static_cast<uint16_t>(o.src.word(7) + flow));
  ip[0] = 0x60;
  put16(ip + 4, static_cast<uint16_t>(l4_len));
  ip[6] = ip6::kUdp;
  ip[7] = 64;
  src.store(ip + ip6::kSrcOffset);
  o.dst.store(ip + ip6::kDstOffset);
  uint8_t* udp = ip + kIpv6Len;
  put16(udp, static_cast<uint16_t>(10000 + flow % 50000));
  put16(udp + 2, o.dst_port);
  put16(udp + 4, static_cast<uint16_t>(l4_len));
  for (size_t i = kUdpLen + kStampLen; i < l4_len; ++i) udp[i] = static_cast<uint8_t>(i);
  // Checksum over the pseudo-header and datagram with the checksum and stamp fields zero, not complemented.
  uint16_t full = csum::upper_layer(src, o.dst, ip6::kUdp, udp, l4_len);
  f.partial = static_cast<uint16_t>(~full);
  return f;
}

void stamp_frame(Frame& f, const Stamp& s) {
  uint8_t* udp = f.bytes.data() + kEthLen + kIpv6Len;
  write_stamp(udp + kUdpLen, s);
  uint16_t sum = csum::sum_bytes(udp + kUdpLen, kStampLen, f.partial);
  uint16_t check = static_cast<uint16_t>(~sum);
  put16(udp + 6, check == 0 ? 0xFFFF : check);  // RFC 8200 s8.1: a computed 0 is sent as 0xFFFF
}

void sleep_until(uint64_t t_ns) {
  timespec ts{static_cast<time_t>(t_ns / 1000000000ull), static_cast<long>(t_ns % 1000000000ull)};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

int run(const Options& o) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: this socket never receives
  if (fd < 0) { std::perror("pktgen: socket(AF_PACKET)"); return 1; }
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", o.iface.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { std::perror("pktgen: SIOCGIFHWADDR"); return 1; }
  uint8_t src_mac[6];
  std::memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
  sll.sll_protocol = 0;
  if (sll.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
    std::perror("pktgen: bind");
    return 1;
  }
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) std::perror("pktgen: PACKET_QDISC_BYPASS");
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

  // At least `batch` frames so that one sendmmsg never points twice at the same buffer.
  const unsigned nframes = std::max(o.flows, o.batch);
  std::vector<Frame> frames;
  frames.reserve(nframes);
  for (unsigned i = 0; i < nframes; ++i) frames.push_back(build_frame(o, src_mac, i % o.flows));

  std::vector<iovec> iov(o.batch);
  std::vector<mmsghdr> msgs(o.batch);
  uint64_t sent = 0, attempted = 0, errors = 0, seq = 0;
  const uint64_t start = monotonic_ns();
  const uint64_t end = start + static_cast<uint64_t>(o.duration * 1e9);
  uint64_t now = start;
  while (!g_stop && (now = monotonic_ns()) < end) {
    uint64_t want = o.batch;
    if (o.rate > 0) {
      const uint64_t due = static_cast<uint64_t>(static_cast<double>(now - start) * o.rate / 1e9);
      if (due <= attempted) {  // ahead of schedule: sleep until the next packet is due
        sleep_until(start + static_cast<uint64_t>(static_cast<double>(attempted + 1) * 1e9 / o.rate));
        continue;
      }
      want = std::min<uint64_t>(want, due - attempted);
    }
    for (uint64_t k = 0; k < want; ++k) {
      Frame& f = frames[(seq + k) % nframes];
      stamp_frame(f, Stamp{o.trial, static_cast<uint32_t>(seq + k), monotonic_ns()});
      iov[k] = {f.bytes.data(), f.bytes.size()};
      msgs[k] = {};
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs.data(), static_cast<unsigned>(want), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // ENOBUFS: the receiving side (the gateway's backlog) refused the frame. It was offered and lost.
      ++errors;
      ++attempted;
      ++seq;
      if (errno != ENOBUFS && errno != EAGAIN) { std::perror("pktgen: sendmmsg"); break; }
      continue;
    }
    sent += static_cast<uint64_t>(r);
    attempted += static_cast<uint64_t>(r);
    seq += static_cast<uint64_t>(r);
    if (static_cast<uint64_t>(r) < want) {
      // Message r was refused and freed. sendmmsg parks that error in sk_err, where it would fail the next
      // call's first message without sending it; SO_ERROR reads and clears it.
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      ++errors;
      ++attempted;
      ++seq;
    }
  }
  const double secs = static_cast<double>(monotonic_ns() - start) / 1e9;
  std::printf("{\"sent\":%llu,\"offered\":%llu,\"txErrors\":%llu,\"seconds\":%.6f,\"offeredPps\":%.1f,"
              "\"size\":%zu,\"flows\":%u,\"targetPps\":%.1f}\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(attempted),
              static_cast<unsigned long long>(errors), secs, static_cast<double>(attempted) / secs, o.size, o.flows,
              o.rate);
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
