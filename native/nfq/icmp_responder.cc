#include "icmp_responder.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "icmp_reply.h"
#include "packet_view.h"

namespace npt66::nfq {
namespace {

int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool is_multicast(const uint8_t* a) noexcept { return a[0] == 0xFF; }

bool is_unspecified(const uint8_t* a) noexcept {
  for (int i = 0; i < 16; ++i)
    if (a[i] != 0) return false;
  return true;
}

sockaddr_in6 socket_address(const Address& a, uint16_t port) noexcept {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  std::memcpy(&sa.sin6_addr, a.b.data(), 16);
  return sa;
}

}  // namespace

bool may_answer_with_error(const uint8_t* packet, size_t len) noexcept {
  if (len < ip6::kHeaderLen || (packet[0] >> 4) != 6) return false;
  const uint8_t* src = packet + ip6::kSrcOffset;
  if (is_multicast(src) || is_unspecified(src) || is_multicast(packet + ip6::kDstOffset)) return false;
  PacketView v;
  Counter why;
  // parse_packet only reads (it takes a mutable pointer because the translator rewrites through the view).
  if (!parse_packet(const_cast<uint8_t*>(packet), len, v, why)) return true;  // malformed past the header
  if (v.has_l4 && v.upper == ip6::kIcmpv6 && (icmp6::is_error(v.icmp_type) || v.icmp_type == 137)) return false;
  // A non-first fragment may belong to an ICMPv6 error whose type we cannot see: stay silent.
  if (v.fragment && !v.has_l4) return false;
  return true;
}

IcmpResponder::IcmpResponder(RateLimiter& limiter) noexcept : limiter_(limiter) {}

IcmpResponder::~IcmpResponder() {
  if (raw_fd_ >= 0) close(raw_fd_);
  if (udp_fd_ >= 0) close(udp_fd_);
}

int IcmpResponder::open() noexcept {
  // IPPROTO_RAW on AF_INET6 implies IPV6_HDRINCL: build_param_problem writes the whole packet, checksummed.
  raw_fd_ = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (raw_fd_ < 0) return errno;
  udp_fd_ = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (udp_fd_ < 0) {
    int err = errno;
    close(raw_fd_);
    raw_fd_ = -1;
    return err;
  }
  return 0;
}

bool IcmpResponder::source_for(const Address& dst, int64_t now_ns, Address& src) noexcept {
  size_t h = (dst.b[15] ^ dst.b[13] * 7 ^ dst.b[11] * 13 ^ dst.b[7] * 31) % cache_.size();
  CachedSource& c = cache_[h];
  if (c.expires_ns > now_ns && c.dst == dst) {
    src = c.src;
    return true;
  }
  // Connecting a UDP socket runs the kernel's route and source-address selection (RFC 6724) without sending.
  sockaddr_in6 to = socket_address(dst, 9);
  if (connect(udp_fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return false;
  sockaddr_in6 local{};
  socklen_t len = sizeof local;
  if (getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&local), &len) < 0) return false;
  std::memcpy(src.b.data(), &local.sin6_addr, 16);
  c = {dst, src, now_ns + kSourceTtlNs};
  return true;
}

void IcmpResponder::answer_refusal(const uint8_t* packet, size_t len, uint8_t pointer,
                                   CounterBlock& counters) noexcept {
  answer(icmp6::kParamProblem, 0, pointer, Counter::param_problem_built, packet, len, counters);
}

void IcmpResponder::answer_admin_prohibited(const uint8_t* packet, size_t len, CounterBlock& counters) noexcept {
  answer(icmp6::kDestUnreachable, 1, 0, Counter::icmp_admin_prohibited_built, packet, len, counters);
}

void IcmpResponder::answer(uint8_t type, uint8_t code, uint32_t param, Counter built, const uint8_t* packet,
                           size_t len, CounterBlock& counters) noexcept {
  if (!may_answer_with_error(packet, len)) {
    counters.add(Counter::icmp_suppressed);
    return;
  }
  int64_t now = monotonic_ns();
  if (!limiter_.allow(now)) {
    counters.add(Counter::icmp_rate_limited);
    return;
  }
  Address sender = Address::from(packet + ip6::kSrcOffset);
  Address from;
  if (raw_fd_ < 0 || !source_for(sender, now, from)) {
    counters.add(Counter::icmp_send_failed);
    return;
  }
  size_t n = build_icmp_error(type, code, param, from, packet, len, out_.data(), out_.size());
  if (n == 0) {
    counters.add(Counter::icmp_send_failed);
    return;
  }
  counters.add(built);
  sockaddr_in6 to = socket_address(sender, 0);
  if (sendto(raw_fd_, out_.data(), n, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    counters.add(Counter::icmp_send_failed);
    return;
  }
  counters.add(Counter::icmp_sent);
}

}  // namespace npt66::nfq
