// The gateway's own ICMPv6 errors (native/core/own_icmp_error, REFERENCE s6): an error the gateway's kernel sends
// about a packet translated inbound quotes that packet after translation (inside destination); queued at
// LOCAL_OUT, the dispatch hands it to translate_own_icmp_error, which puts the quote back as the sender sent it.
// Each quote here is built from a packet the dispatch really translated inbound, so a correct translation gives
// back the sender's own bytes.
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "dispatch.h"
#include "nat66_packets.h"

namespace npt66::test {
namespace {

constexpr uint64_t kNow = 9'000'000;
const Address kGatewayOutside = addr("2001:db8:100::2");  // the gateway's own address: in no inside prefix
const Address kNptv6Inside = addr("fd01:203:405:1::1234");
const Address kNptv6Outside = addr("2001:db8:1:d550::1234");  // RFC 6296 s3.6
constexpr size_t kQuote = ip6::kHeaderLen + icmp6::kHeaderLen;  // where the quoted packet starts

struct Engine {
  std::shared_ptr<const PrefixTable> nptv6 = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  std::vector<std::unique_ptr<Nat66Table>> masquerade;
  CounterBlock counters;

  Engine() { masquerade.push_back(make_table(base_config())); }
  Tables tables() const { return Tables{nptv6.get(), masquerade, kNow}; }
  Handled run(Direction d, Bytes& b, bool from_host = false) {
    Arrival a;
    a.from_host = from_host;
    return dispatch(tables(), d, Offload{}, b.data(), b.size(), counters, a);
  }
  // What the gateway's kernel sends about `quoted` (as forwarded, after inbound translation) to `to`.
  static Packet own_error(uint8_t type, uint32_t param, const Bytes& quoted, const Address& to) {
    // RFC 4443 s2.4(c): as much of the packet as fits in the minimum MTU.
    return build_ipv6(kGatewayOutside, to, {}, icmp6_error(type, 0, param, quoted, ip6::kMinMtu - kQuote), true, 64);
  }
};

Address quoted_dst(const Packet& p) { return Address::from(p.bytes.data() + kQuote + ip6::kDstOffset); }
Bytes quote_of(const Packet& p) { return Bytes(p.bytes.begin() + kQuote, p.bytes.end()); }
Bytes prefix_of(const Bytes& b, size_t n) { return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size()))); }

// --- NPTv6 ---

class OwnErrorNptv6 : public ::testing::TestWithParam<uint8_t> {};

TEST_P(OwnErrorNptv6, QuotedInsideDestinationGoesBackToTheOutsideAddressChecksumUntouched) {
  Engine e;
  // The sender's 1400-byte packet to the outside address, translated inbound by the gateway.
  const Packet sent = build_ipv6(kRemote, kNptv6Outside, udp(5000, 4000, Bytes(1352, 0x5A)));
  Bytes forwarded = sent.bytes;
  ASSERT_EQ(e.run(Direction::inbound, forwarded).verdict.action, Action::translated);
  ASSERT_EQ(Address::from(forwarded.data() + ip6::kDstOffset), kNptv6Inside);

  const uint8_t type = GetParam();
  Packet err = Engine::own_error(type, type == icmp6::kPacketTooBig ? 1280 : 0, forwarded, kRemote);
  ASSERT_EQ(quoted_dst(err), kNptv6Inside) << "the kernel's error quotes the inside destination";
  const uint16_t checksum = read16(err.bytes, err.l4 + 2);

  Handled h = e.run(Direction::outbound, err.bytes, true);
  EXPECT_EQ(h.verdict.action, Action::translated);
  EXPECT_EQ(h.verdict.reason, Counter::own_icmp_error_translated);
  EXPECT_EQ(h.by, Handled::By::nptv6);
  EXPECT_EQ(quoted_dst(err), kNptv6Outside);
  // The quote is the sender's own packet again, as far as it goes (the sender can match it).
  EXPECT_EQ(quote_of(err), prefix_of(sent.bytes, err.bytes.size() - kQuote));
  // Checksum-neutral (RFC 6296 s3.1): the ICMPv6 checksum was not touched and is still valid.
  EXPECT_EQ(read16(err.bytes, err.l4 + 2), checksum);
  EXPECT_TRUE(l4_checksum_ok(err));
  // The outer header is the gateway's own.
  EXPECT_EQ(Address::from(err.bytes.data() + ip6::kSrcOffset), kGatewayOutside);
  EXPECT_EQ(Address::from(err.bytes.data() + ip6::kDstOffset), kRemote);
  EXPECT_EQ(e.counters.get(Counter::own_icmp_error_translated), 1u);
}

INSTANTIATE_TEST_SUITE_P(PacketTooBigAndTimeExceeded, OwnErrorNptv6,
                         ::testing::Values(icmp6::kPacketTooBig, icmp6::kTimeExceeded, icmp6::kDestUnreachable),
                         [](const auto& info) { return "type" + std::to_string(info.param); });

TEST(OwnErrorNptv6, UntranslatableInsideDestinationIsDroppedAndCounted) {
  Engine e;
  // /48 subnet 0xFFFF (RFC 6296 s4.2) cannot be mapped: its error must not leave with the inside address.
  const Packet quoted = build_ipv6(kRemote, addr("fd01:203:405:ffff::1"), udp(5000, 4000, {1, 2}));
  Packet err = Engine::own_error(icmp6::kTimeExceeded, 0, quoted.bytes, kRemote);
  const Bytes before = err.bytes;
  Handled h = e.run(Direction::outbound, err.bytes, true);
  EXPECT_EQ(h.verdict.action, Action::drop);
  EXPECT_EQ(h.verdict.reason, Counter::drop_own_icmp_error_unmapped);
  EXPECT_EQ(h.verdict.pointer, 0) << "no ICMPv6 error about an ICMPv6 error (RFC 4443 s2.4(e))";
  EXPECT_EQ(err.bytes, before);
  EXPECT_EQ(e.counters.get(Counter::drop_own_icmp_error_unmapped), 1u);
}

// --- masquerade ---

struct MasqCase {
  friend void PrintTo(const MasqCase& c, std::ostream* os) { *os << c.name; }
  const char* name;
  L4 (*outbound)();  // what the container sends first (creates the mapping)
  L4 (*reply)(uint16_t outside_port);  // what the remote answers, to the outside address+port
};

L4 udp_out() { return udp(40000, 53, {1, 2, 3}); }
L4 udp_reply(uint16_t port) { return udp(53, port, Bytes(1352, 0x33)); }
L4 tcp_out() { return tcp(40001, 443, {}, tcpflag::kSyn); }
L4 tcp_reply(uint16_t port) { return tcp(443, port, Bytes(1340, 0x44), tcpflag::kAck); }
L4 echo_out() { return echo_request(0x4242, 1); }
L4 echo_reply(uint16_t id) { return icmp6(icmp6::kEchoReply, 0, uint32_t{id} << 16 | 1, Bytes(1352, 0x55)); }

class OwnErrorMasquerade : public ::testing::TestWithParam<MasqCase> {};

TEST_P(OwnErrorMasquerade, PacketTooBigQuotingAMappedInsideEndpointGoesBackToTheOutsideEndpoint) {
  Engine e;
  Packet out = build_ipv6(kContainer, kRemote, GetParam().outbound());
  ASSERT_EQ(e.run(Direction::outbound, out.bytes).verdict.action, Action::translated);
  const uint16_t outside_port = port_at(out, out.proto == ip6::kIcmpv6 ? 4 : 0);

  // The remote's oversize answer, translated inbound to the container, which sits behind a 1280-byte link.
  const Packet sent = build_ipv6(kRemote, kOutside, GetParam().reply(outside_port));
  Bytes forwarded = sent.bytes;
  ASSERT_EQ(e.run(Direction::inbound, forwarded).verdict.reason, Counter::nat66_inbound);
  ASSERT_EQ(Address::from(forwarded.data() + ip6::kDstOffset), kContainer);

  Packet err = Engine::own_error(icmp6::kPacketTooBig, 1280, forwarded, kRemote);
  const Bytes outer_before(err.bytes.begin(), err.bytes.begin() + ip6::kHeaderLen);
  Handled h = e.run(Direction::outbound, err.bytes, true);
  EXPECT_EQ(h.verdict.action, Action::translated);
  EXPECT_EQ(h.verdict.reason, Counter::own_icmp_error_translated);
  EXPECT_EQ(h.by, Handled::By::masquerade);
  EXPECT_EQ(quoted_dst(err), kOutside);
  // The quote is the remote's own packet again: address, port or echo id, and the quoted checksum.
  EXPECT_EQ(quote_of(err), prefix_of(sent.bytes, err.bytes.size() - kQuote));
  EXPECT_TRUE(l4_checksum_ok(err)) << "ICMPv6 checksum recomputed";
  EXPECT_EQ(Bytes(err.bytes.begin(), err.bytes.begin() + ip6::kHeaderLen), outer_before)
      << "the outer header is the gateway's own";
  EXPECT_EQ(read16(err.bytes, err.l4 + 6), 1280) << "the MTU is the gateway's";
  EXPECT_EQ(e.counters.get(Counter::own_icmp_error_translated), 1u);
}

INSTANTIATE_TEST_SUITE_P(Protocols, OwnErrorMasquerade,
                         ::testing::Values(MasqCase{"udp", udp_out, udp_reply}, MasqCase{"tcp", tcp_out, tcp_reply},
                                           MasqCase{"echo", echo_out, echo_reply}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(OwnErrorMasquerade, WholeQuotedUdpPacketKeepsAValidChecksum) {
  Engine e;
  Packet out = build_ipv6(kContainer, kRemote, udp(40000, 53, {1}));
  ASSERT_EQ(e.run(Direction::outbound, out.bytes).verdict.action, Action::translated);
  Packet reply = build_ipv6(kRemote, kOutside, {}, udp(53, port_at(out, 0), {9, 9, 9}), true, 1);
  ASSERT_EQ(e.run(Direction::inbound, reply.bytes).verdict.reason, Counter::nat66_inbound);
  // Hop limit 1: the gateway answers Time Exceeded quoting the whole (short) packet.
  Packet err = Engine::own_error(icmp6::kTimeExceeded, 0, reply.bytes, kRemote);
  ASSERT_EQ(e.run(Direction::outbound, err.bytes, true).verdict.action, Action::translated);
  Packet inner;
  inner.bytes = quote_of(err);
  inner.l4 = ip6::kHeaderLen;
  inner.proto = ip6::kUdp;
  EXPECT_EQ(Address::from(inner.bytes.data() + ip6::kDstOffset), kOutside);
  EXPECT_TRUE(l4_checksum_ok(inner)) << "quoted UDP checksum updated with the address and port (RFC 1624)";
  EXPECT_TRUE(l4_checksum_ok(err));
}

TEST(OwnErrorMasquerade, InsideQuoteWithoutALiveMappingIsDroppedAndCounted) {
  Engine e;
  const Packet quoted = build_ipv6(kRemote, kContainer, udp(53, 40000, {1, 2, 3}));
  Packet err = Engine::own_error(icmp6::kPacketTooBig, 1280, quoted.bytes, kRemote);
  const Bytes before = err.bytes;
  Handled h = e.run(Direction::outbound, err.bytes, true);
  EXPECT_EQ(h.verdict.action, Action::drop);
  EXPECT_EQ(h.verdict.reason, Counter::drop_own_icmp_error_unmapped);
  EXPECT_EQ(h.verdict.pointer, 0);
  EXPECT_EQ(h.by, Handled::By::masquerade);
  EXPECT_EQ(err.bytes, before) << "a refused packet is unchanged";
  EXPECT_EQ(e.counters.get(Counter::drop_own_icmp_error_unmapped), 1u);
}

TEST(OwnErrorMasquerade, InsideQuoteOfAProtocolMasqueradeNeverMapsIsDropped) {
  Engine e;
  // An echo request to the container was never masqueraded: still an inside address that must not leave.
  const Packet quoted = build_ipv6(kRemote, kContainer, echo_request(7, 1));
  Packet err = Engine::own_error(icmp6::kDestUnreachable, 0, quoted.bytes, kRemote);
  EXPECT_EQ(e.run(Direction::outbound, err.bytes, true).verdict.reason, Counter::drop_own_icmp_error_unmapped);
}

// --- what passes ---

TEST(OwnError, QuoteMatchingNoMappingPassesUntouched) {
  Engine e;
  // The gateway's own traffic (e.g. its own ping too big for the path): nothing to translate.
  const Packet quoted = build_ipv6(kRemote, kGatewayOutside, udp(53, 33000, {1}));
  Packet err = Engine::own_error(icmp6::kPacketTooBig, 1280, quoted.bytes, kRemote);
  const Bytes before = err.bytes;
  Handled h = e.run(Direction::outbound, err.bytes, true);
  EXPECT_EQ(h.verdict.action, Action::not_ours);
  EXPECT_EQ(h.by, Handled::By::none);
  EXPECT_EQ(err.bytes, before);
  EXPECT_EQ(e.counters.get(Counter::own_icmp_error_translated), 0u);
}

TEST(OwnError, FromAnInsideSourceItIsLeftToPostrouting) {
  Engine e;
  // Sent with an inside source (the gateway's inside address is in the NPTv6 inside prefix): mangle POSTROUTING
  // queues it again and translates source and quote together; here it passes.
  const Packet quoted = build_ipv6(kRemote, kNptv6Inside, udp(5000, 4000, {1}));
  Packet err = build_ipv6(addr("fd01:203:405:1::1"), kRemote, icmp6_error(icmp6::kTimeExceeded, 0, 0, quoted.bytes));
  const Bytes before = err.bytes;
  EXPECT_EQ(e.run(Direction::outbound, err.bytes, true).verdict.action, Action::not_ours);
  EXPECT_EQ(err.bytes, before);
}

TEST(OwnError, NotAnErrorPasses) {
  Engine e;
  Packet ping = build_ipv6(kGatewayOutside, kRemote, echo_request(1, 1));
  const Bytes before = ping.bytes;
  EXPECT_EQ(e.run(Direction::outbound, ping.bytes, true).verdict.action, Action::not_ours);
  EXPECT_EQ(ping.bytes, before);
}

TEST(OwnError, TruncatedQuoteIsDropped) {
  Engine e;
  const Packet quoted = build_ipv6(kRemote, kNptv6Inside, udp(5000, 4000, {1}));
  Packet err = build_ipv6(kGatewayOutside, kRemote, icmp6_error(icmp6::kTimeExceeded, 0, 0, quoted.bytes, 30));
  EXPECT_EQ(e.run(Direction::outbound, err.bytes, true).verdict.reason, Counter::drop_icmp_inner_truncated);
}

TEST(OwnError, OnlyPacketsSentByTheHostAreTreatedSo) {
  Engine e;
  // The same bytes queued in POSTROUTING (not from_host): no inside source, so not the translators' business.
  const Packet quoted = build_ipv6(kRemote, kNptv6Inside, udp(5000, 4000, {1}));
  Packet err = Engine::own_error(icmp6::kTimeExceeded, 0, quoted.bytes, kRemote);
  EXPECT_EQ(e.run(Direction::outbound, err.bytes, false).verdict.action, Action::not_ours);
  EXPECT_EQ(quoted_dst(err), kNptv6Inside);
}

}  // namespace
}  // namespace npt66::test
