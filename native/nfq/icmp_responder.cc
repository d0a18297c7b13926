#include "icmp_responder.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "icmp_reply.h"

namespace npt66::nfq {
namespace {

int64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

sockaddr_in6 socket_address(const Address& a, uint16_t port) noexcept {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  std::memcpy(&sa.sin6_addr, a.b.data(), 16);
  return sa;
}

}  // namespace

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

void IcmpResponder::answer(const Verdict& v, const uint8_t* packet, size_t len, CounterBlock& counters) noexcept {
  uint8_t type, code;
  uint32_t param = 0;
  Counter built;
  switch (v.answer) {
    case IcmpAnswer::none:
      return;
    case IcmpAnswer::param_problem:
      type = icmp6::kParamProblem, code = 0, param = v.pointer, built = Counter::param_problem_built;
      break;
    case IcmpAnswer::admin_prohibited:
      type = icmp6::kDestUnreachable, code = 1, built = Counter::icmp_admin_prohibited_built;
      break;
    default:
      return;
  }
  if (!icmp_error_allowed(type, code, packet, len)) {
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
