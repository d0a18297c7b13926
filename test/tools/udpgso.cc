// udpgso: UDP GSO super-datagrams (UDP_SEGMENT, as QUIC senders use) for the namespace tests: one send() of
// SEGMENTS x SIZE bytes leaves the sender as a single GSO packet that the kernel cuts into SEGMENTS datagrams
// of SIZE bytes only where it has to (at the receiver's socket, or at a translator that cannot take it whole).
// Every datagram says which stream it belongs to and its sequence number, and carries a payload pattern
// derived from both, so the receiver can check each one: intact, not duplicated, none missing.
//
//   udpgso send ADDR PORT WRITES SEGMENTS SIZE [--sport N] [--gap-us N] [--expect-reply N] [--idle-ms N]
//              [--hops N] [--errors]
//       WRITES sends of SEGMENTS datagrams each (stream 1); with --expect-reply, then receives N datagrams of
//       stream 2 on the same socket (the receiver's answer) and checks them. --hops sets the hop limit;
//       --errors turns on IPV6_RECVERR, counts failed sends instead of stopping, and reports the ICMPv6
//       errors the stack matched to this socket (it does so only if the quoted packet carries the socket's
//       own address and port: an error translated back correctly).
//   udpgso recv PORT EXPECTED [--reply WRITES SEGMENTS SIZE] [--gap-us N] [--idle-ms N]
//       receives until EXPECTED datagrams of stream 1 arrived (or nothing arrived for --idle-ms); with --reply,
//       then answers the last sender with WRITES sends of SEGMENTS datagrams (stream 2) from the same socket.
//
// JSON lines on stdout: {"event":"listening",...} once bound (recv), {"event":"sent",...} after the sends,
// and one {"event":"done",...} result: received (distinct, intact), expected, corrupt (wrong length, header
// or pattern), duplicate, datagrams (all that arrived), and the peer's address. Exit 0 unless a system call
// failed (the counts are for the test to judge).
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, since Linux 4.18
#endif

namespace {

constexpr uint32_t kMagic = 0x55475330;  // "UGS0"
constexpr uint32_t kForward = 1;         // sender -> receiver
constexpr uint32_t kReply = 2;           // receiver -> sender
constexpr size_t kHeader = 16;           // magic, stream, seq, size (each big-endian u32)

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "udpgso: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: udpgso send ADDR PORT WRITES SEGMENTS SIZE [--sport N] [--gap-us N] [--expect-reply N] [--idle-ms N] [--hops N] [--errors]\n"
               "       udpgso recv PORT EXPECTED [--reply WRITES SEGMENTS SIZE] [--gap-us N] [--idle-ms N]\n");
  std::exit(2);
}

long number(const char* s) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!*s || *end || v < 0) usage();
  return v;
}

uint8_t pattern(uint32_t stream, uint32_t seq, size_t offset) {
  return static_cast<uint8_t>((seq * 131u + offset * 7u) ^ (stream << 5));
}

void put32(uint8_t* p, uint32_t v) {
  v = htonl(v);
  std::memcpy(p, &v, 4);
}

uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}

void fill(uint8_t* d, uint32_t stream, uint32_t seq, size_t size) {
  put32(d, kMagic);
  put32(d + 4, stream);
  put32(d + 8, seq);
  put32(d + 12, static_cast<uint32_t>(size));
  for (size_t i = kHeader; i < size; ++i) d[i] = pattern(stream, seq, i);
}

std::string address(const sockaddr_in6& a) {
  char s[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a.sin6_addr, s, sizeof s);
  return s;
}

int udp_socket(uint16_t port) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  int on = 1;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) die("IPV6_V6ONLY");
  // Root may exceed rmem_max: a whole test's worth of datagrams fits, so the socket itself never drops.
  int rcvbuf = 64 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) die("SO_RCVBUFFORCE");
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  local.sin6_addr = in6addr_any;
  local.sin6_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) die("bind");
  return fd;
}

void pause_us(long us) {
  if (us <= 0) return;
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

// WRITES sends of SEGMENTS datagrams of SIZE bytes each, numbered from 0, as GSO super-datagrams. Returns the
// number of failed sends when `tolerate` (an ICMPv6 error makes the next send report it), else dies on one.
long send_stream(int fd, const sockaddr_in6& to, uint32_t stream, long writes, long segments, long size, long gap_us, bool tolerate = false) {
  long failed = 0;
  int seg = static_cast<int>(size);
  if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) < 0) die("setsockopt(UDP_SEGMENT)");
  std::vector<uint8_t> buf(static_cast<size_t>(segments * size));
  uint32_t seq = 0;
  for (long w = 0; w < writes; ++w) {
    for (long s = 0; s < segments; ++s) fill(&buf[static_cast<size_t>(s * size)], stream, seq++, static_cast<size_t>(size));
    ssize_t n = sendto(fd, buf.data(), buf.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    if (n < 0 && tolerate) ++failed;
    else if (n < 0) die("sendto (write " + std::to_string(w) + ")");
    else if (static_cast<size_t>(n) != buf.size()) die("short sendto");
    pause_us(gap_us);
  }
  return failed;
}

// The ICMPv6 errors queued on the socket (IPV6_RECVERR) until none came for `idle_ms`, as a JSON list of
// {type, code, from, info, count}.
std::string collect_errors(int fd, long idle_ms) {
  std::map<std::string, long> seen;
  for (;;) {
    pollfd p{fd, 0, 0};  // POLLERR is always reported
    int r = poll(&p, 1, static_cast<int>(idle_ms));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("poll");
    if (r == 0 || !(p.revents & POLLERR)) break;
    uint8_t data[2048];
    alignas(cmsghdr) char control[512];
    iovec iov{data, sizeof data};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("recvmsg(MSG_ERRQUEUE)");
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != IPPROTO_IPV6 || c->cmsg_type != IPV6_RECVERR) continue;
      auto* e = reinterpret_cast<sock_extended_err*>(CMSG_DATA(c));
      if (e->ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      auto* offender = reinterpret_cast<const sockaddr_in6*>(SO_EE_OFFENDER(e));
      char key[256];
      std::snprintf(key, sizeof key, "{\"type\":%u,\"code\":%u,\"from\":\"%s\",\"info\":%u", e->ee_type, e->ee_code, address(*offender).c_str(), e->ee_info);
      ++seen[key];
    }
  }
  std::string out = "[";
  for (const auto& [key, count] : seen) out += (out.size() > 1 ? "," : "") + key + ",\"count\":" + std::to_string(count) + "}";
  return out + "]";
}

struct Tally {
  long received = 0;  // distinct, intact
  long corrupt = 0;
  long duplicate = 0;
  long datagrams = 0;
  std::string peer;
  uint16_t peer_port = 0;
  sockaddr_in6 last_from{};
};

// Receives datagrams of `stream` until `expected` distinct ones arrived or none for `idle_ms`.
Tally receive_stream(int fd, uint32_t stream, long expected, long idle_ms) {
  Tally t;
  std::vector<bool> seen(static_cast<size_t>(expected), false);
  std::vector<uint8_t> buf(65536);
  while (t.received < expected) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(idle_ms));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("poll");
    if (r == 0) break;  // idle: what is missing is not coming
    sockaddr_in6 from{};
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fromlen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0 && errno == ECONNREFUSED) continue;  // an ICMPv6 error about an earlier send
    if (n < 0) die("recvfrom");
    ++t.datagrams;
    t.last_from = from;
    t.peer = address(from);
    t.peer_port = ntohs(from.sin6_port);
    const uint8_t* d = buf.data();
    size_t len = static_cast<size_t>(n);
    bool ok = len >= kHeader && get32(d) == kMagic && get32(d + 4) == stream && get32(d + 12) == len && get32(d + 8) < static_cast<uint64_t>(expected);
    for (size_t i = kHeader; ok && i < len; ++i) ok = d[i] == pattern(stream, get32(d + 8), i);
    if (!ok) {
      ++t.corrupt;
      continue;
    }
    uint32_t seq = get32(d + 8);
    if (seen[seq]) {
      ++t.duplicate;
      continue;
    }
    seen[seq] = true;
    ++t.received;
  }
  return t;
}

std::string tally_json(const Tally& t, long expected) {
  char s[512];
  std::snprintf(s, sizeof s, "\"received\":%ld,\"expected\":%ld,\"corrupt\":%ld,\"duplicate\":%ld,\"datagrams\":%ld,\"peer\":\"%s\",\"peerPort\":%u", t.received,
                expected, t.corrupt, t.duplicate, t.datagrams, t.peer.c_str(), t.peer_port);
  return s;
}

// Options after the positional arguments: --name value [value...]
struct Options {
  long sport = 0, gap_us = 0, expect_reply = 0, idle_ms = 3000, hops = -1;
  bool errors = false;
  long reply_writes = 0, reply_segments = 0, reply_size = 0;
};

Options options(int argc, char** argv, int first) {
  Options o;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) usage();
      return number(argv[++i]);
    };
    if (a == "--sport") o.sport = next();
    else if (a == "--gap-us") o.gap_us = next();
    else if (a == "--expect-reply") o.expect_reply = next();
    else if (a == "--idle-ms") o.idle_ms = next();
    else if (a == "--hops") o.hops = next();
    else if (a == "--errors") o.errors = true;
    else if (a == "--reply") {
      o.reply_writes = next();
      o.reply_segments = next();
      o.reply_size = next();
    } else usage();
  }
  return o;
}

void check_shape(long segments, long size) {
  if (segments < 1 || size < static_cast<long>(kHeader) || segments * size > 65000) {
    std::fprintf(stderr, "udpgso: SEGMENTS x SIZE must fit one UDP datagram and SIZE hold the %zu-byte header\n", kHeader);
    std::exit(2);
  }
}

int run_send(int argc, char** argv) {
  if (argc < 7) usage();
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, argv[2], &to.sin6_addr) != 1) usage();
  to.sin6_port = htons(static_cast<uint16_t>(number(argv[3])));
  long writes = number(argv[4]), segments = number(argv[5]), size = number(argv[6]);
  check_shape(segments, size);
  Options o = options(argc, argv, 7);
  int fd = udp_socket(static_cast<uint16_t>(o.sport));
  int hops = static_cast<int>(o.hops);
  if (o.hops >= 0 && setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) < 0) die("IPV6_UNICAST_HOPS");
  int on = 1;
  if (o.errors && setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) < 0) die("IPV6_RECVERR");
  long failed = send_stream(fd, to, kForward, writes, segments, size, o.gap_us, o.errors);
  sockaddr_in6 local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) < 0) die("getsockname");
  std::printf("{\"event\":\"sent\",\"writes\":%ld,\"segments\":%ld,\"size\":%ld,\"datagrams\":%ld,\"failedWrites\":%ld,\"localPort\":%u}\n", writes, segments, size,
              writes * segments, failed, ntohs(local.sin6_port));
  std::fflush(stdout);
  std::string reply = "null";
  if (o.expect_reply > 0) reply = "{" + tally_json(receive_stream(fd, kReply, o.expect_reply, o.idle_ms), o.expect_reply) + "}";
  std::string errors = o.errors ? collect_errors(fd, o.idle_ms) : "null";
  std::printf("{\"event\":\"done\",\"role\":\"send\",\"sent\":%ld,\"failedWrites\":%ld,\"reply\":%s,\"errors\":%s}\n", writes * segments, failed, reply.c_str(),
              errors.c_str());
  close(fd);
  return 0;
}

int run_recv(int argc, char** argv) {
  if (argc < 4) usage();
  uint16_t port = static_cast<uint16_t>(number(argv[2]));
  long expected = number(argv[3]);
  Options o = options(argc, argv, 4);
  if (o.reply_writes > 0) check_shape(o.reply_segments, o.reply_size);
  int fd = udp_socket(port);
  std::printf("{\"event\":\"listening\",\"port\":%u}\n", port);
  std::fflush(stdout);
  Tally t = receive_stream(fd, kForward, expected, o.idle_ms);
  long replied = 0;
  if (o.reply_writes > 0 && t.datagrams > 0) {
    send_stream(fd, t.last_from, kReply, o.reply_writes, o.reply_segments, o.reply_size, o.gap_us);
    replied = o.reply_writes * o.reply_segments;
  }
  std::printf("{\"event\":\"done\",\"role\":\"recv\",%s,\"replied\":%ld}\n", tally_json(t, expected).c_str(), replied);
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  std::string mode = argv[1];
  if (mode == "send") return run_send(argc, argv);
  if (mode == "recv") return run_recv(argc, argv);
  usage();
}
