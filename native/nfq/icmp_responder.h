// Answers refused packets with ICMPv6 Parameter Problem (RFC 6296 refusal, REFERENCE s1) or, for new masquerade
// flows refused for lack of resources, Destination Unreachable code 1 (RFC 6888), from the address the kernel
// itself would use to reach the sender, rate-limited by a limiter shared across queue threads (both kinds).
// One instance per queue thread (its sockets and cache are not shared).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "counters.h"
#include "ipv6.h"
#include "rate_limiter.h"
#include "verdict.h"

namespace npt66::nfq {

class IcmpResponder {
 public:
  explicit IcmpResponder(RateLimiter& limiter) noexcept;
  ~IcmpResponder();
  IcmpResponder(const IcmpResponder&) = delete;
  IcmpResponder& operator=(const IcmpResponder&) = delete;

  // Opens the raw (IPPROTO_RAW, header included) and the route-lookup UDP socket. Returns errno, 0 on success.
  int open() noexcept;
  bool ready() const noexcept { return raw_fd_ >= 0; }

  // Sends the answer `v` carries about the refused packet packet[0, len) (unchanged): Parameter Problem code 0
  // pointing at v.pointer, or Destination Unreachable code 1 "administratively prohibited" (RFC 4443 s3.1).
  // Counts param_problem_built / icmp_admin_prohibited_built, and icmp_sent, icmp_rate_limited, icmp_suppressed
  // (RFC 4443 s2.4(e), icmp_error_allowed) or icmp_send_failed.
  void answer(const Verdict& v, const uint8_t* packet, size_t len, CounterBlock& counters) noexcept;

 private:
  struct CachedSource {
    Address dst;
    Address src;
    int64_t expires_ns = 0;
  };
  static constexpr int64_t kSourceTtlNs = 10'000'000'000;  // routes change rarely; re-ask every 10 s

  bool source_for(const Address& dst, int64_t now_ns, Address& src) noexcept;

  RateLimiter& limiter_;
  int raw_fd_ = -1;
  int udp_fd_ = -1;
  std::array<CachedSource, 64> cache_{};
  std::array<uint8_t, 1280> out_{};  // RFC 4443 s2.4(c): an error never exceeds the minimum MTU
};

}  // namespace npt66::nfq
