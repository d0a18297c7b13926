// libFuzzer target: build_icmp_error (native/core/icmp_reply.h), the ICMPv6 errors npt66 sends about refused
// packets. Input: type, code, 32-bit parameter, output capacity (16 bits, used mod 2048), the 16-byte source
// address, then the offending packet. The output buffer is exactly `cap` bytes on the heap (ASan sees overruns).
// Invariants:
// - the result fits the buffer and RFC 4443 s2.4(c): the whole error is at most 1280 bytes, and it quotes
//   exactly min(offending length, 1232) bytes, the offending packet's own;
// - a written error is a well-formed IPv6 packet from `from` to the offending source with a valid checksum;
// - s2.4(e): nothing about an ICMPv6 error, a multicast/unspecified source, or (except Packet Too Big and
//   Parameter Problem code 2) a multicast destination; an ordinary TCP/UDP packet is always answered.
#include <algorithm>
#include <cstring>

#include "fuzz_support.h"
#include "icmp_reply.h"

using namespace npt66;
using namespace npt66::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const uint8_t type = in.u8(), code = in.u8();
  const uint32_t param = in.u32();
  const size_t cap = in.u16() % 2048;
  const Address from = in.address();
  const Bytes offending = in.rest();
  Bytes out(cap);

  const size_t n = build_icmp_error(type, code, param, from, offending.data(), offending.size(), out.data(), cap);
  NPT66_FUZZ_CHECK(n <= cap, "wrote past the capacity");
  NPT66_FUZZ_CHECK(n <= ip6::kMinMtu, "error longer than the IPv6 minimum MTU (RFC 4443 s2.4(c))");

  const size_t len = offending.size();
  const bool header = len >= ip6::kHeaderLen && (offending[0] >> 4) == 6;
  if (!header) {
    NPT66_FUZZ_CHECK(n == 0, "answered a packet without an IPv6 header");
    return 0;
  }
  const uint8_t* src = offending.data() + ip6::kSrcOffset;
  const uint8_t* dst = offending.data() + ip6::kDstOffset;
  const bool src_unspecified = std::all_of(src, src + 16, [](uint8_t b) { return b == 0; });
  if (src_unspecified || src[0] == 0xFF) NPT66_FUZZ_CHECK(n == 0, "answered an unspecified or multicast source");
  const bool multicast_ok = type == icmp6::kPacketTooBig || (type == icmp6::kParamProblem && code == 2);
  if (dst[0] == 0xFF && !multicast_ok) NPT66_FUZZ_CHECK(n == 0, "answered a multicast destination");

  Bytes copy = offending;
  PacketView v;
  Counter why;
  const bool parsed = parse_embedded(copy.data(), copy.size(), v, why);
  if (parsed && v.has_l4 && v.upper == ip6::kIcmpv6 && icmp6::is_error(v.icmp_type))
    NPT66_FUZZ_CHECK(n == 0, "answered an ICMPv6 error (RFC 4443 s2.4(e.1))");

  const size_t quoted = std::min(len, ip6::kMinMtu - ip6::kHeaderLen - icmp6::kHeaderLen);
  const size_t total = ip6::kHeaderLen + icmp6::kHeaderLen + quoted;
  const bool ordinary = parsed && (v.upper == ip6::kTcp || v.upper == ip6::kUdp) && !src_unspecified &&
                        src[0] != 0xFF && (dst[0] != 0xFF || multicast_ok);
  if (ordinary && cap >= total) NPT66_FUZZ_CHECK(n == total, "refused to answer an ordinary TCP/UDP packet");
  if (n == 0) return 0;

  NPT66_FUZZ_CHECK(n == total, "quoted other than min(length, 1232) bytes");
  NPT66_FUZZ_CHECK(out[0] == 0x60 && out[6] == ip6::kIcmpv6, "not an IPv6 packet carrying ICMPv6");
  NPT66_FUZZ_CHECK((size_t{out[4]} << 8 | out[5]) == n - ip6::kHeaderLen, "payload length");
  NPT66_FUZZ_CHECK(std::memcmp(out.data() + ip6::kSrcOffset, from.b.data(), 16) == 0, "source is not `from`");
  NPT66_FUZZ_CHECK(std::memcmp(out.data() + ip6::kDstOffset, src, 16) == 0, "destination is not the offender");
  NPT66_FUZZ_CHECK(out[40] == type && out[41] == code, "type or code");
  NPT66_FUZZ_CHECK((uint32_t{out[44]} << 24 | uint32_t{out[45]} << 16 | uint32_t{out[46]} << 8 | out[47]) == param,
                   "parameter");
  NPT66_FUZZ_CHECK(std::memcmp(out.data() + 48, offending.data(), quoted) == 0, "the quote is not the offending packet");
  L4Checksum c{ip6::kHeaderLen, n - ip6::kHeaderLen, ip6::kHeaderLen + 2, ip6::kIcmpv6};
  NPT66_FUZZ_CHECK(l4_checksum_valid(out.data(), c), "ICMPv6 checksum invalid");
  return 0;
}
