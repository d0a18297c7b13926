// Builds ICMPv6 error messages (RFC 4443) about a packet npt66 refused. Sending them is the engine's job.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ipv6.h"

namespace npt66 {

// Writes a complete IPv6 packet into out[0, cap): header from `from` to the offending packet's source,
// hop limit 64, ICMPv6 `type`/`code` with the 32-bit `param` (pointer, MTU or unused), then as much
// of the offending packet as keeps the result within the IPv6 minimum MTU (RFC 4443 s2.4(c)), checksummed.
// Returns the length written, or 0 if `offending` has no IPv6 header, if `cap` is too small, or if RFC 4443
// s2.4(e) forbids an error about it: an ICMPv6 error or redirect (or a chain too broken to tell), a multicast
// destination (except Packet Too Big and Parameter Problem code 2), an unspecified or multicast source.
// RFC 4443 s2.4(e), the one rule for when npt66 may send an ICMPv6 error about `offending`: never about an ICMPv6
// error or redirect (or a chain too broken to tell), a packet to a multicast address (except Packet Too Big and
// Parameter Problem code 2), or one whose source is unspecified or multicast. The engine asks this before it
// spends a rate-limit token; build_icmp_error asks it too.
bool icmp_error_allowed(uint8_t type, uint8_t code, const uint8_t* offending, size_t len) noexcept;

size_t build_icmp_error(uint8_t type, uint8_t code, uint32_t param, const Address& from, const uint8_t* offending,
                        size_t offending_len, uint8_t* out, size_t cap) noexcept;

// RFC 6296 / REFERENCE s1: a refused address is answered with Parameter Problem code 0 (erroneous header
// field), the pointer naming the address: 8 for the source, 24 for the destination.
inline size_t build_param_problem(const Address& from, uint8_t pointer, const uint8_t* offending, size_t offending_len,
                                  uint8_t* out, size_t cap) noexcept {
  return build_icmp_error(icmp6::kParamProblem, 0, pointer, from, offending, offending_len, out, cap);
}

}  // namespace npt66
