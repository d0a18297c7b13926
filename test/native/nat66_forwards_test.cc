// NAT66 port forwards (nat66_forwards.h): a published port reaches its inside endpoint with the remote's own
// address as the source, the replies leave from the outside address and the published port; checksums match a
// full recomputation; a port that is not a forward is untouched by them; refused forward sets.
#include <gtest/gtest.h>

#include <algorithm>

#include "nat66_packets.h"
#include "nat66_translate.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;

Nat66Forward forward(Nat66Proto p, uint16_t port, const Address& inside, uint16_t inside_port) {
  Nat66Forward f;
  f.proto = p, f.port = port, f.inside = inside, f.inside_port = inside_port;
  return f;
}

Nat66Config with_forwards() {
  Nat66Config c = base_config();
  c.keep_privileged_ports = false;
  c.forwards = {forward(Nat66Proto::tcp, 8080, kContainer, 80), forward(Nat66Proto::udp, 5353, kContainer2, 53)};
  return c;
}

Verdict run(Nat66Table& t, Direction d, Packet& p, CounterBlock& c) {
  return translate_nat66(t, d, p.bytes.data(), p.bytes.size(), kT0, c);
}

Address src_of(const Packet& p) { return Address::from(p.bytes.data() + 8); }
Address dst_of(const Packet& p) { return Address::from(p.bytes.data() + 24); }

TEST(Nat66Forwards, TcpForwardBothWaysKeepsTheClientsAddress) {
  auto t = make_table(with_forwards());
  CounterBlock c;
  Packet syn = build_ipv6(kRemote, kOutside, tcp(41000, 8080, {'h', 'i'}, tcpflag::kSyn));
  Verdict v = run(*t, Direction::inbound, syn, c);
  ASSERT_EQ(v.action, Action::translated);
  EXPECT_EQ(v.reason, Counter::nat66_forward_inbound);
  EXPECT_EQ(src_of(syn), kRemote);  // the client's own address
  EXPECT_EQ(dst_of(syn), kContainer);
  EXPECT_EQ(port_at(syn, 0), 41000);
  EXPECT_EQ(port_at(syn, 2), 80);
  EXPECT_EQ(read16(syn.bytes, syn.checksum_at), full_checksum(syn));
  EXPECT_TRUE(l4_checksum_ok(syn));

  Packet synack = build_ipv6(kContainer, kRemote, tcp(80, 41000, {'o', 'k', '!'}, 0x12));
  v = run(*t, Direction::outbound, synack, c);
  ASSERT_EQ(v.action, Action::translated);
  EXPECT_EQ(v.reason, Counter::nat66_forward_outbound);
  EXPECT_EQ(src_of(synack), kOutside);
  EXPECT_EQ(dst_of(synack), kRemote);
  EXPECT_EQ(port_at(synack, 0), 8080);
  EXPECT_EQ(port_at(synack, 2), 41000);
  EXPECT_EQ(read16(synack.bytes, synack.checksum_at), full_checksum(synack));
  EXPECT_TRUE(l4_checksum_ok(synack));

  EXPECT_EQ(c.get(Counter::nat66_forward_inbound), 1u);
  EXPECT_EQ(c.get(Counter::nat66_forward_outbound), 1u);
  EXPECT_EQ(t->counts().total(), 0u);  // stateless: no mapping made
}

TEST(Nat66Forwards, UdpForwardBothWaysChecksumsMatchFullRecomputation) {
  auto t = make_table(with_forwards());
  CounterBlock c;
  for (int i = 0; i < 50; ++i) {
    SCOPED_TRACE(i);
    Bytes payload(static_cast<size_t>(i * 7), static_cast<uint8_t>(i * 31 + 1));
    Address remote = kRemote;
    remote.b[15] = static_cast<uint8_t>(i * 13);
    const uint16_t rport = static_cast<uint16_t>(1024 + i * 997);
    Packet q = build_ipv6(remote, kOutside, udp(rport, 5353, payload));
    ASSERT_EQ(run(*t, Direction::inbound, q, c).reason, Counter::nat66_forward_inbound);
    EXPECT_EQ(src_of(q), remote);
    EXPECT_EQ(dst_of(q), kContainer2);
    EXPECT_EQ(port_at(q, 2), 53);
    EXPECT_EQ(read16(q.bytes, q.checksum_at), full_checksum(q));

    Packet a = build_ipv6(kContainer2, remote, udp(53, rport, payload));
    ASSERT_EQ(run(*t, Direction::outbound, a, c).reason, Counter::nat66_forward_outbound);
    EXPECT_EQ(src_of(a), kOutside);
    EXPECT_EQ(port_at(a, 0), 5353);
    EXPECT_EQ(read16(a.bytes, a.checksum_at), full_checksum(a));
  }
}

TEST(Nat66Forwards, OtherPortsAndProtocolsAreNotForwarded) {
  auto t = make_table(with_forwards());
  CounterBlock c;
  // UDP to the TCP forward's port, TCP to the UDP one: the host's, as before.
  Packet u = build_ipv6(kRemote, kOutside, udp(41000, 8080, {1}));
  const Bytes u_before = u.bytes;
  EXPECT_EQ(run(*t, Direction::inbound, u, c).reason, Counter::nat66_inbound_unmapped);
  EXPECT_EQ(u.bytes, u_before);
  Packet tc = build_ipv6(kRemote, kOutside, tcp(41000, 5353, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::inbound, tc, c).reason, Counter::nat66_inbound_unmapped);
  // The forward's inside host from another port, and another host from port 80: masqueraded as usual.
  Packet other = build_ipv6(kContainer, kRemote, tcp(40000, 443, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::outbound, other, c).reason, Counter::nat66_outbound);
  EXPECT_NE(port_at(other, 0), 8080);
  Packet other2 = build_ipv6(kContainer2, kRemote, tcp(80, 443, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::outbound, other2, c).reason, Counter::nat66_outbound);
  EXPECT_NE(port_at(other2, 0), 8080);
  // UDP checksum 0 to a forward is refused, not forwarded.
  Packet zero = build_ipv6(kRemote, kOutside, udp(41000, 5353, {1, 2}));
  zero.bytes[zero.checksum_at] = zero.bytes[zero.checksum_at + 1] = 0;
  EXPECT_EQ(run(*t, Direction::inbound, zero, c).reason, Counter::drop_nat66_udp_zero_checksum);
  EXPECT_EQ(c.get(Counter::nat66_forward_inbound), 0u);
  EXPECT_EQ(c.get(Counter::nat66_forward_outbound), 0u);
}

// RFC 5508 s4 for forwards: a Packet Too Big about what the forward sent out reaches the inside endpoint with the
// quote as it sent it (else path MTU discovery breaks for published TCP services); an error from inside about what
// the client sent in leaves with the outside address and the published port in the quote, never the inside one.
TEST(Nat66Forwards, IcmpErrorsAboutForwardedFlowsAreTranslatedBothWays) {
  auto t = make_table(with_forwards());
  CounterBlock c;
  const Packet sent = build_ipv6(kContainer, kRemote, tcp(80, 41000, Bytes(1400, 'x'), 0x18));
  Packet out = sent;
  ASSERT_EQ(run(*t, Direction::outbound, out, c).reason, Counter::nat66_forward_outbound);
  Packet ptb = build_ipv6(kRouter, kOutside, icmp6_error(icmp6::kPacketTooBig, 0, 1280, out.bytes, 1232));
  Verdict v = run(*t, Direction::inbound, ptb, c);
  ASSERT_EQ(v.action, Action::translated);
  EXPECT_EQ(v.reason, Counter::nat66_icmp_error_inbound);
  EXPECT_EQ(dst_of(ptb), kContainer);
  Bytes quoted(ptb.bytes.begin() + static_cast<std::ptrdiff_t>(ptb.l4 + 8), ptb.bytes.end());
  EXPECT_TRUE(std::equal(quoted.begin(), quoted.end(), sent.bytes.begin()));  // exactly what c1 sent
  EXPECT_EQ(read16(ptb.bytes, ptb.checksum_at), full_checksum(ptb));

  const Packet as_sent = build_ipv6(kRemote, kOutside, udp(41053, 5353, Bytes(60, 3)));
  Packet in = as_sent;
  ASSERT_EQ(run(*t, Direction::inbound, in, c).reason, Counter::nat66_forward_inbound);
  Packet unreachable = build_ipv6(kContainer2, kRemote, icmp6_error(icmp6::kDestUnreachable, 4, 0, in.bytes));
  v = run(*t, Direction::outbound, unreachable, c);
  ASSERT_EQ(v.action, Action::translated);
  EXPECT_EQ(v.reason, Counter::nat66_icmp_error_outbound);
  EXPECT_EQ(src_of(unreachable), kOutside);
  Bytes quoted_back(unreachable.bytes.begin() + static_cast<std::ptrdiff_t>(unreachable.l4 + 8), unreachable.bytes.end());
  EXPECT_EQ(quoted_back, as_sent.bytes);  // what the client sent, so it can match the error to its socket
  EXPECT_EQ(read16(unreachable.bytes, unreachable.checksum_at), full_checksum(unreachable));

  // An error about a port that is not a forward (and no mapping) is still the host's.
  Packet other = build_ipv6(kOutside, kRemote, tcp(8081, 41000, {}, 0x12));
  Packet err = build_ipv6(kRouter, kOutside, icmp6_error(icmp6::kDestUnreachable, 1, 0, other.bytes));
  EXPECT_EQ(run(*t, Direction::inbound, err, c).reason, Counter::nat66_inbound_unmapped);
}

// Hairpin to a published port (RFC 4787 REQ-9): c3 reaches c1's service at [outside]:8080 and is seen by its
// mapped outside endpoint; c1's answer, from its forward's endpoint, returns from [outside]:8080.
TEST(Nat66Forwards, HairpinToAPublishedPortFromAnotherContainer) {
  const Address c3 = addr("fd5a:ceb9:ed8d:1::4");
  auto t = make_table(with_forwards());
  CounterBlock c;
  Packet syn = build_ipv6(c3, kOutside, tcp(45000, 8080, {'q'}, tcpflag::kSyn));
  Verdict v = run(*t, Direction::outbound, syn, c);
  ASSERT_EQ(v.action, Action::translated);
  EXPECT_EQ(v.reason, Counter::nat66_hairpin);
  Nat66Binding m;
  ASSERT_EQ(t->find_inside(Nat66Proto::tcp, c3, 45000, kT0, m), Nat66Lookup::found);
  EXPECT_EQ(src_of(syn), kOutside);
  EXPECT_EQ(port_at(syn, 0), m.outside_port);
  EXPECT_EQ(dst_of(syn), kContainer);
  EXPECT_EQ(port_at(syn, 2), 80);
  EXPECT_EQ(read16(syn.bytes, syn.checksum_at), full_checksum(syn));

  Packet synack = build_ipv6(kContainer, kOutside, tcp(80, m.outside_port, {'a'}, 0x12));
  v = run(*t, Direction::outbound, synack, c);
  ASSERT_EQ(v.action, Action::translated);
  EXPECT_EQ(v.reason, Counter::nat66_hairpin);
  EXPECT_EQ(src_of(synack), kOutside);
  EXPECT_EQ(port_at(synack, 0), 8080);
  EXPECT_EQ(dst_of(synack), c3);
  EXPECT_EQ(port_at(synack, 2), 45000);
  EXPECT_EQ(read16(synack.bytes, synack.checksum_at), full_checksum(synack));
  EXPECT_EQ(t->counts().total(), 1u);  // c3's mapping only: the forward's side has none
}

// A forward whose inside address leaves the sources (a Docker network removed) forwards nothing: its answers
// would no longer be masqueraded.
TEST(Nat66Forwards, ForwardToAnAddressNoLongerInTheSourcesIsRefused) {
  auto t = make_table(with_forwards());
  CounterBlock c;
  ASSERT_EQ(t->set_sources({prefix("fd5a:ceb9:ed8d:2::/64")}), "");
  Packet syn = build_ipv6(kRemote, kOutside, tcp(41000, 8080, {}, tcpflag::kSyn));
  const Bytes before = syn.bytes;
  Verdict v = run(*t, Direction::inbound, syn, c);
  EXPECT_EQ(v.action, Action::drop);
  EXPECT_EQ(v.reason, Counter::drop_nat66_forward_unsourced);
  EXPECT_EQ(syn.bytes, before);
  ASSERT_EQ(t->set_sources({prefix("fd5a:ceb9:ed8d:1::/64")}), "");
  Packet again = build_ipv6(kRemote, kOutside, tcp(41000, 8080, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::inbound, again, c).reason, Counter::nat66_forward_inbound);
}

TEST(Nat66Forwards, SetForwardsSwapsAndRefusesBadSets) {
  auto t = make_table(base_config());  // privilegedPorts on, range 20000-29999
  CounterBlock c;
  Packet p = build_ipv6(kRemote, kOutside, tcp(41000, 8080, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::inbound, p, c).reason, Counter::nat66_inbound_unmapped);

  EXPECT_NE(t->set_forwards({forward(Nat66Proto::tcp, 20080, kContainer, 80)}).find("dynamic port range"),
            std::string::npos);
  EXPECT_NE(t->set_forwards({forward(Nat66Proto::tcp, 80, kContainer, 80)}).find("privilegedPorts"),
            std::string::npos);
  EXPECT_NE(t->set_forwards({forward(Nat66Proto::tcp, 8080, kContainer, 80), forward(Nat66Proto::tcp, 8080, kContainer2, 80)})
                .find("given twice"),
            std::string::npos);
  EXPECT_NE(t->set_forwards({forward(Nat66Proto::udp, 8080, kContainer, 80), forward(Nat66Proto::udp, 8081, kContainer, 80)})
                .find("same inside endpoint"),
            std::string::npos);
  EXPECT_EQ(t->forwards()->size(), 0u);

  ASSERT_EQ(t->set_forwards({forward(Nat66Proto::tcp, 8080, kContainer, 80)}), "");
  Packet q = build_ipv6(kRemote, kOutside, tcp(41000, 8080, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::inbound, q, c).reason, Counter::nat66_forward_inbound);
  ASSERT_EQ(t->set_forwards({}), "");
  Packet r = build_ipv6(kRemote, kOutside, tcp(41000, 8080, {}, tcpflag::kSyn));
  EXPECT_EQ(run(*t, Direction::inbound, r, c).reason, Counter::nat66_inbound_unmapped);

  Nat66Config bad = base_config();
  bad.forwards = {forward(Nat66Proto::udp, 25000, kContainer, 53)};
  std::string error;
  EXPECT_FALSE(Nat66Table::create(bad, error));
  EXPECT_NE(error.find("dynamic port range 20000-29999"), std::string::npos) << error;
}

// Forwards changed live (a reload, Docker's published ports) never touch the mappings: a port a mapping holds
// lies in the dynamic range, which no forward set may use (so it can never become a forward under a live
// mapping), and a mapping lives on through forwards being added and removed.
TEST(Nat66Forwards, LiveMappingsSurviveForwardChangesAndKeepTheirPorts) {
  Nat66Config conf = base_config();
  conf.keep_privileged_ports = false;
  auto t = make_table(conf);
  CounterBlock c;
  Packet out = build_ipv6(kContainer, kRemote, tcp(43000, 443, {}, tcpflag::kSyn));
  ASSERT_EQ(run(*t, Direction::outbound, out, c).action, Action::translated);
  const uint16_t mapped = port_at(out, 0);
  ASSERT_GE(mapped, 20000);
  ASSERT_LE(mapped, 29999);

  EXPECT_NE(t->set_forwards({forward(Nat66Proto::tcp, mapped, kContainer2, 80)}).find("dynamic port range"),
            std::string::npos);
  ASSERT_EQ(t->set_forwards({forward(Nat66Proto::tcp, 8080, kContainer2, 80)}), "");
  Packet back = build_ipv6(kRemote, kOutside, tcp(443, mapped, {}, 0x12));
  ASSERT_EQ(run(*t, Direction::inbound, back, c).action, Action::translated);
  EXPECT_EQ(dst_of(back), kContainer);
  EXPECT_EQ(port_at(back, 2), 43000);
  ASSERT_EQ(t->set_forwards({}), "");
  Packet again = build_ipv6(kRemote, kOutside, tcp(443, mapped, {}, tcpflag::kAck));
  ASSERT_EQ(run(*t, Direction::inbound, again, c).action, Action::translated);
  EXPECT_EQ(dst_of(again), kContainer);
  EXPECT_EQ(t->counts().total(), 1u);
}

}  // namespace
}  // namespace npt66::test
