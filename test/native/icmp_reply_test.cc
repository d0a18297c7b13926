// ICMPv6 error builder (RFC 4443): a valid IPv6 + ICMPv6 packet back to the offending packet's source, the
// pointer, quoting cut to the 1280-byte minimum MTU, and the packets no error may be sent about (s2.4(e)).
#include "icmp_reply.h"

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "packet_view.h"

namespace npt66 {
namespace {

using test::addr;
using test::build_ipv6;
using test::Bytes;

const Address kGateway = addr("2001:db8:ff::1");
const Address kSender = addr("fd01:203:405:ffff::1");  // subnet 0xFFFF: refused by a /48 mapping
const Address kRemote = addr("2001:db8:5::20");

Bytes build(const Bytes& offending, uint8_t pointer, size_t cap = 2000) {
  Bytes out(cap, 0xCC);
  size_t n = build_param_problem(kGateway, pointer, offending.data(), offending.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

TEST(IcmpReply, ParamProblemIsAValidPacket) {
  Bytes offending = build_ipv6(kSender, kRemote, test::udp(5353, 53, Bytes(20, 'q'))).bytes;
  Bytes r = build(offending, 8);
  ASSERT_EQ(r.size(), 40u + 8 + offending.size());
  // IPv6 header (RFC 8200 s3).
  EXPECT_EQ(r[0], 0x60);
  EXPECT_EQ(r[1], 0);
  EXPECT_EQ(r[2], 0);
  EXPECT_EQ(r[3], 0);
  EXPECT_EQ(test::read16(r, 4), 8 + offending.size());
  EXPECT_EQ(r[6], ip6::kIcmpv6);
  EXPECT_EQ(r[7], 64);
  EXPECT_EQ(Address::from(r.data() + 8), kGateway);
  EXPECT_EQ(Address::from(r.data() + 24), kSender) << "the error goes back to the offending packet's source";
  // ICMPv6 Parameter Problem, code 0 (erroneous header field), pointer 8 (the source address).
  EXPECT_EQ(r[40], 4);
  EXPECT_EQ(r[41], 0);
  EXPECT_EQ(r[44], 0);
  EXPECT_EQ(r[45], 0);
  EXPECT_EQ(r[46], 0);
  EXPECT_EQ(r[47], 8);
  EXPECT_TRUE(std::equal(offending.begin(), offending.end(), r.begin() + 48)) << "the offending packet is quoted";
  EXPECT_TRUE(test::l4_checksum_ok(r, 40, ip6::kIcmpv6)) << "ICMPv6 checksum does not verify";
  // It is also exactly what the independent builder makes of the same message.
  Bytes want = build_ipv6(kGateway, kSender, test::icmp6(4, 0, 8, offending)).bytes;
  want[1] = want[2] = want[3] = 0;  // the builder sets a flow label (not in the pseudo-header); the reply has none
  EXPECT_EQ(r, want);
  // And the core's own parser sees an ICMPv6 error.
  PacketView v;
  Counter why;
  ASSERT_TRUE(parse_packet(r.data(), r.size(), v, why));
  EXPECT_TRUE(v.is_icmp_error());
  EXPECT_EQ(v.icmp_type, icmp6::kParamProblem);
}

TEST(IcmpReply, PointerForTheDestination) {
  Bytes offending = build_ipv6(kRemote, addr("2001:db8:1:ffff::1"), test::tcp(1, 2)).bytes;
  Bytes r = build(offending, 24);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[47], 24);
  EXPECT_EQ(Address::from(r.data() + 24), kRemote);
  EXPECT_TRUE(test::l4_checksum_ok(r, 40, ip6::kIcmpv6));
}

TEST(IcmpReply, QuotingStopsAtTheMinimumMtu) {
  // RFC 4443 s2.4(c): as much of the invoking packet as fits without exceeding 1280 bytes.
  for (size_t payload : {1000u - 48u, 1232u - 48u, 1233u - 48u, 1500u - 48u, 9000u - 48u}) {
    SCOPED_TRACE(payload);
    Bytes offending = build_ipv6(kSender, kRemote, test::udp(1, 2, Bytes(payload, 'z'))).bytes;
    Bytes r = build(offending, 8, 10000);
    size_t quoted = std::min<size_t>(offending.size(), 1232);
    ASSERT_EQ(r.size(), 48 + quoted);
    EXPECT_LE(r.size(), 1280u);
    EXPECT_EQ(test::read16(r, 4), 8 + quoted);
    EXPECT_TRUE(std::equal(offending.begin(), offending.begin() + static_cast<std::ptrdiff_t>(quoted), r.begin() + 48));
    EXPECT_TRUE(test::l4_checksum_ok(r, 40, ip6::kIcmpv6));
  }
}

TEST(IcmpReply, RefusesWhenTheBufferIsTooSmall) {
  Bytes offending = build_ipv6(kSender, kRemote, test::udp(1, 2, Bytes(100, 0))).bytes;
  size_t need = 48 + offending.size();
  EXPECT_EQ(build(offending, 8, need).size(), need);
  EXPECT_TRUE(build(offending, 8, need - 1).empty());
  EXPECT_TRUE(build(offending, 8, 0).empty());
}

TEST(IcmpReply, RefusesNonIpv6Input) {
  Bytes offending = build_ipv6(kSender, kRemote, test::udp(1, 2)).bytes;
  Bytes v4 = offending;
  v4[0] = 0x45;
  EXPECT_TRUE(build(v4, 8).empty());
  EXPECT_TRUE(build(Bytes(offending.begin(), offending.begin() + 39), 8).empty());
  uint8_t out[1280];
  EXPECT_EQ(build_param_problem(kGateway, 8, nullptr, 100, out, sizeof out), 0u);
}

TEST(IcmpReply, NeverAnswersWhatRfc4443Section2_4eForbids) {
  Bytes inner = build_ipv6(kRemote, kSender, test::udp(1, 2)).bytes;
  // (e.1) an ICMPv6 error, also behind extension headers.
  for (uint8_t type : {1, 2, 3, 4}) {
    EXPECT_TRUE(build(build_ipv6(kSender, kRemote, test::icmp6_error(type, 0, 0, inner)).bytes, 8).empty()) << int(type);
    EXPECT_TRUE(build(build_ipv6(kSender, kRemote, {test::hop_by_hop(), test::dest_opts()},
                                 test::icmp6_error(type, 0, 0, inner)).bytes, 8).empty()) << int(type);
  }
  // (e.2) a redirect.
  EXPECT_TRUE(build(build_ipv6(kSender, kRemote, test::icmp6(137, 0, 0, Bytes(32, 0))).bytes, 8).empty());
  // (e.3) a multicast destination (Parameter Problem code 0).
  EXPECT_TRUE(build(build_ipv6(kSender, addr("ff0e::1"), test::udp(1, 2)).bytes, 8).empty());
  // (e.6) a source that is not a single node.
  EXPECT_TRUE(build(build_ipv6(addr("::"), kRemote, test::udp(1, 2)).bytes, 24).empty());
  EXPECT_TRUE(build(build_ipv6(addr("ff02::1"), kRemote, test::udp(1, 2)).bytes, 24).empty());

  // Informational ICMPv6 is answered, as is everything else ordinary.
  EXPECT_FALSE(build(build_ipv6(kSender, kRemote, test::echo_request(1, 1)).bytes, 8).empty());
  EXPECT_FALSE(build(build_ipv6(kSender, kRemote, {test::fragment(0, true)}, test::tcp(1, 2)).bytes, 8).empty());
}

TEST(IcmpReply, MulticastExceptionsOfSection2_4e3) {
  Bytes to_group = build_ipv6(kSender, addr("ff0e::1"), test::udp(1, 2, Bytes(1400, 0))).bytes;
  uint8_t out[1280];
  // Packet Too Big may be sent about a multicast packet (Path MTU discovery for multicast).
  size_t n = build_icmp_error(icmp6::kPacketTooBig, 0, 1280, kGateway, to_group.data(), to_group.size(), out, sizeof out);
  EXPECT_EQ(n, 1280u);
  // So may Parameter Problem code 2 (unrecognized option whose type asks for a report).
  EXPECT_NE(build_icmp_error(icmp6::kParamProblem, 2, 42, kGateway, to_group.data(), to_group.size(), out, sizeof out), 0u);
  // Time Exceeded may not.
  EXPECT_EQ(build_icmp_error(icmp6::kTimeExceeded, 0, 0, kGateway, to_group.data(), to_group.size(), out, sizeof out), 0u);
  // The engine asks the same one rule before it spends a rate-limit token (it used to have its own, which
  // refused Packet Too Big to a multicast destination).
  EXPECT_TRUE(icmp_error_allowed(icmp6::kPacketTooBig, 0, to_group.data(), to_group.size()));
  EXPECT_TRUE(icmp_error_allowed(icmp6::kParamProblem, 2, to_group.data(), to_group.size()));
  EXPECT_FALSE(icmp_error_allowed(icmp6::kParamProblem, 0, to_group.data(), to_group.size()));
  EXPECT_FALSE(icmp_error_allowed(icmp6::kDestUnreachable, 1, to_group.data(), to_group.size()));
  EXPECT_FALSE(icmp_error_allowed(icmp6::kPacketTooBig, 0, nullptr, 0));
}

TEST(IcmpReply, OtherErrorTypesCarryTheirParameter) {
  Bytes offending = build_ipv6(kSender, kRemote, test::tcp(1, 2, Bytes(2000, 1))).bytes;
  Bytes out(1280);
  size_t n = build_icmp_error(icmp6::kPacketTooBig, 0, 1400, kGateway, offending.data(), offending.size(), out.data(), out.size());
  ASSERT_EQ(n, 1280u);
  EXPECT_EQ(out[40], 2);
  EXPECT_EQ(out[44], 0);
  EXPECT_EQ(out[45], 0);
  EXPECT_EQ(out[46], 0x05);  // 1400 = 0x0578
  EXPECT_EQ(out[47], 0x78);
  EXPECT_TRUE(test::l4_checksum_ok(out, 40, ip6::kIcmpv6));
}

}  // namespace
}  // namespace npt66
