#include "icmp_reply.h"

#include <algorithm>
#include <cstring>

#include "checksum.h"
#include "packet_view.h"

namespace npt66 {
namespace {

bool is_multicast(const uint8_t* a) noexcept { return a[0] == 0xFF; }
bool is_unspecified(const uint8_t* a) noexcept {
  for (int i = 0; i < 16; ++i)
    if (a[i] != 0) return false;
  return true;
}

}  // namespace

// RFC 4443 s2.4(e): packets an ICMPv6 error must never be sent about (the link-layer cases e.4/e.5 are not
// visible here). An offending packet whose header chain cannot be read is not answered either: it might be
// an error itself, and errors about errors are how ICMP storms start.
bool icmp_error_allowed(uint8_t type, uint8_t code, const uint8_t* offending, size_t len) noexcept {
  if (offending == nullptr || len < ip6::kHeaderLen || (offending[0] >> 4) != 6) return false;
  const uint8_t* src = offending + ip6::kSrcOffset;
  const uint8_t* dst = offending + ip6::kDstOffset;
  if (is_unspecified(src) || is_multicast(src)) return false;  // (e.6) not a single node
  // (e.3) multicast destination, except Packet Too Big and Parameter Problem code 2.
  if (is_multicast(dst) && !(type == icmp6::kPacketTooBig || (type == icmp6::kParamProblem && code == 2)))
    return false;
  PacketView v;
  Counter why;
  // parse_embedded only reads; it takes a mutable pointer because the same view is used for rewriting.
  if (!parse_embedded(const_cast<uint8_t*>(offending), len, v, why)) return false;
  if (v.upper == ip6::kIcmpv6 && !v.has_l4 && !v.fragment) return false;  // ICMPv6 cut before its type: unknown
  constexpr uint8_t kRedirect = 137;
  if (v.has_l4 && v.upper == ip6::kIcmpv6 && (icmp6::is_error(v.icmp_type) || v.icmp_type == kRedirect))
    return false;  // (e.1), (e.2)
  return true;
}

size_t build_icmp_error(uint8_t type, uint8_t code, uint32_t param, const Address& from, const uint8_t* offending,
                        size_t offending_len, uint8_t* out, size_t cap) noexcept {
  if (offending == nullptr || offending_len < ip6::kHeaderLen || (offending[0] >> 4) != 6) return 0;
  if (!icmp_error_allowed(type, code, offending, offending_len)) return 0;
  constexpr size_t kFixed = ip6::kHeaderLen + icmp6::kHeaderLen;
  size_t quoted = std::min(offending_len, ip6::kMinMtu - kFixed);
  size_t total = kFixed + quoted;
  if (cap < total) return 0;
  size_t payload = icmp6::kHeaderLen + quoted;

  std::memset(out, 0, kFixed);
  out[0] = 0x60;
  out[4] = static_cast<uint8_t>(payload >> 8);
  out[5] = static_cast<uint8_t>(payload);
  out[6] = ip6::kIcmpv6;
  out[7] = 64;
  from.store(out + ip6::kSrcOffset);
  std::memcpy(out + ip6::kDstOffset, offending + ip6::kSrcOffset, 16);
  uint8_t* icmp = out + ip6::kHeaderLen;
  icmp[0] = type;
  icmp[1] = code;
  icmp[4] = static_cast<uint8_t>(param >> 24);
  icmp[5] = static_cast<uint8_t>(param >> 16);
  icmp[6] = static_cast<uint8_t>(param >> 8);
  icmp[7] = static_cast<uint8_t>(param);
  std::memcpy(icmp + icmp6::kHeaderLen, offending, quoted);
  uint16_t c = csum::upper_layer(from, Address::from(out + ip6::kDstOffset), ip6::kIcmpv6, icmp, payload);
  icmp[2] = static_cast<uint8_t>(c >> 8);
  icmp[3] = static_cast<uint8_t>(c);
  return total;
}

}  // namespace npt66
