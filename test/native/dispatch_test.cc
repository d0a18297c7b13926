// The per-packet dispatch (native/core/dispatch): which table a packet goes to, in which
// direction, and what the second pass of a hairpinned packet sees. Pure: no netlink, no threads.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "nat66_packets.h"
#include "nat66_translate.h"
#include "dispatch.h"

namespace npt66::test {
namespace {




constexpr uint64_t kNow = 7'000'000;

// An engine's tables: NPTv6 fd01:203:405::/48 -> 2001:db8:1::/48 (RFC 6296 s3.6), masquerade 0 for the seed's
// containers, masquerade 1 for a second bridge with its own outside address.
struct Engine {
  std::shared_ptr<const PrefixTable> nptv6 = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  std::vector<std::unique_ptr<Nat66Table>> masquerade;
  CounterBlock counters;

  explicit Engine(Nat66Filtering filtering = Nat66Filtering::address_dependent) {
    Nat66Config a = base_config();
    a.filtering = filtering;
    masquerade.push_back(make_table(a));
    Nat66Config b = base_config();
    b.inside = {prefix("fd5a:ceb9:ed8d:2::/64")};
    b.outside = {addr("fd5a:ceb9:ed8d:fe0a::b")};
    masquerade.push_back(make_table(b));
  }
  Tables tables() const { return Tables{nptv6.get(), masquerade, kNow, outside_ifindexes}; }
  Handled run(Direction d, Packet& p) { return dispatch(tables(), d, Offload{}, p.bytes.data(), p.bytes.size(), counters); }
  // As queued from raw PREROUTING with NFQA_IFINDEX_INDEV = indev.
  Handled arrive(uint32_t indev, Packet& p) {
    return dispatch(tables(), Direction::inbound, Offload{}, p.bytes.data(), p.bytes.size(), counters, Arrival{indev, false});
  }
  std::vector<uint32_t> outside_ifindexes;  // none named: hairpin by source, as before
};

constexpr uint32_t kOutsideIf = 2, kOtherOutsideIf = 7, kInsideIf = 3;

Address src_of(const Packet& p) { return Address::from(p.bytes.data() + 8); }
Address dst_of(const Packet& p) { return Address::from(p.bytes.data() + 24); }

TEST(NfqDispatch, OutboundFromAnNptv6InsidePrefixGoesToNptv6) {
  Engine e;
  Packet p = build_ipv6(addr("fd01:203:405:1::1234"), kRemote, udp(5000, 53, {1}));
  Handled h = e.run(Direction::outbound, p);
  EXPECT_EQ(h.by, Handled::By::nptv6);
  EXPECT_EQ(h.verdict.action, Action::translated);
  EXPECT_EQ(src_of(p), addr("2001:db8:1:d550::1234"));
  EXPECT_EQ(e.counters.get(Counter::nptv6_outbound), 1u);
  EXPECT_EQ(e.masquerade[0]->counts().total(), 0u);
}

TEST(NfqDispatch, OutboundFromAMasqueradeSourceGoesToThatTable) {
  Engine e;
  Packet p0 = build_ipv6(kContainer, kRemote, udp(40000, 53, {1}));
  Handled h0 = e.run(Direction::outbound, p0);
  EXPECT_EQ(h0.by, Handled::By::masquerade);
  EXPECT_EQ(h0.masquerade, 0u);
  EXPECT_EQ(h0.verdict.reason, Counter::nat66_outbound);
  EXPECT_EQ(src_of(p0), kOutside);
  EXPECT_TRUE(l4_checksum_ok(p0));

  Packet p1 = build_ipv6(addr("fd5a:ceb9:ed8d:2::7"), kRemote, tcp(40000, 443, {}, tcpflag::kSyn));
  Handled h1 = e.run(Direction::outbound, p1);
  EXPECT_EQ(h1.by, Handled::By::masquerade);
  EXPECT_EQ(h1.masquerade, 1u);
  EXPECT_EQ(src_of(p1), addr("fd5a:ceb9:ed8d:fe0a::b"));
  EXPECT_EQ(e.masquerade[0]->counts().udp, 1u);
  EXPECT_EQ(e.masquerade[1]->counts().tcp_transitory, 1u);
  EXPECT_EQ(e.counters.get(Counter::nat66_outbound), 2u);
}

TEST(NfqDispatch, OutboundFromNoTableIsNotOursAndUntouched) {
  Engine e;
  Packet p = build_ipv6(addr("2001:db8:77::1"), kRemote, udp(5000, 53, {1}));
  const Bytes before = p.bytes;
  Handled h = e.run(Direction::outbound, p);
  EXPECT_EQ(h.by, Handled::By::none);
  EXPECT_EQ(h.verdict.action, Action::not_ours);
  EXPECT_EQ(p.bytes, before);
  EXPECT_EQ(e.counters.get(Counter::not_ours), 1u);
}

TEST(NfqDispatch, InboundToAnNptv6OutsidePrefixGoesToNptv6) {
  Engine e;
  Packet p = build_ipv6(kRemote, addr("2001:db8:1:d550::1234"), udp(53, 5000, {1}));
  Handled h = e.run(Direction::inbound, p);
  EXPECT_EQ(h.by, Handled::By::nptv6);
  EXPECT_EQ(dst_of(p), addr("fd01:203:405:1::1234"));
  EXPECT_EQ(e.counters.get(Counter::nptv6_inbound), 1u);
}

TEST(NfqDispatch, InboundRepliesToTheOutsideAddressGoBackThroughTheMapping) {
  Engine e;
  Packet out = build_ipv6(kContainer, kRemote, echo_request(0x4242, 1));
  ASSERT_EQ(e.run(Direction::outbound, out).verdict.action, Action::translated);
  const uint16_t id = read16(out.bytes, out.l4 + 4);
  Packet reply = build_ipv6(kRemote, kOutside, icmp6(icmp6::kEchoReply, 0, uint32_t{id} << 16 | 1, {'p', 'i', 'n', 'g'}));
  Handled h = e.run(Direction::inbound, reply);
  EXPECT_EQ(h.by, Handled::By::masquerade);
  EXPECT_EQ(h.masquerade, 0u);
  EXPECT_EQ(h.verdict.reason, Counter::nat66_inbound);
  EXPECT_EQ(dst_of(reply), kContainer);
  EXPECT_EQ(read16(reply.bytes, reply.l4 + 4), 0x4242);
  EXPECT_TRUE(l4_checksum_ok(reply));
}

TEST(NfqDispatch, InboundToTheOutsideAddressWithoutMappingIsTheHostsOwn) {
  Engine e;
  Packet p = build_ipv6(kRemote, kOutside, tcp(443, 22, {}, tcpflag::kSyn));
  const Bytes before = p.bytes;
  Handled h = e.run(Direction::inbound, p);
  EXPECT_EQ(h.by, Handled::By::masquerade);
  EXPECT_EQ(h.verdict.action, Action::not_ours);
  EXPECT_EQ(h.verdict.reason, Counter::nat66_inbound_unmapped);
  EXPECT_EQ(p.bytes, before);
}

TEST(NfqDispatch, InboundToAnythingElseIsNotOurs) {
  Engine e;
  Packet p = build_ipv6(kRemote, addr("2001:db8:99::1"), udp(53, 5000, {1}));
  Handled h = e.run(Direction::inbound, p);
  EXPECT_EQ(h.by, Handled::By::none);
  EXPECT_EQ(h.verdict.action, Action::not_ours);
  EXPECT_EQ(e.counters.get(Counter::not_ours), 1u);
}

// RFC 4787 REQ-9 through the rules: raw PREROUTING queues the inside packet to the outside address (inbound
// hook); the engine translates it both ways; mangle POSTROUTING queues it again (marked) and leaves it alone.
TEST(NfqDispatch, HairpinQueuedInboundIsTranslatedBothWaysAndTheSecondPassIsNotOurs) {
  Engine e(Nat66Filtering::endpoint_independent);
  Packet b_out = build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1}));
  ASSERT_EQ(e.run(Direction::outbound, b_out).verdict.action, Action::translated);
  const uint16_t b_port = read16(b_out.bytes, b_out.l4);

  Packet a_to_b = build_ipv6(kContainer, kOutside, udp(22000, b_port, {2}));
  Handled first = e.run(Direction::inbound, a_to_b);
  EXPECT_EQ(first.by, Handled::By::masquerade);
  EXPECT_EQ(first.verdict.reason, Counter::nat66_hairpin);
  EXPECT_EQ(src_of(a_to_b), kOutside);
  EXPECT_EQ(dst_of(a_to_b), kContainer2);
  EXPECT_EQ(read16(a_to_b.bytes, a_to_b.l4 + 2), 21000);
  EXPECT_TRUE(l4_checksum_ok(a_to_b));

  const Bytes after_first = a_to_b.bytes;
  Handled second = e.run(Direction::outbound, a_to_b);
  EXPECT_EQ(second.verdict.action, Action::not_ours);
  EXPECT_EQ(a_to_b.bytes, after_first);
  EXPECT_EQ(e.counters.get(Counter::nat66_hairpin), 1u);
}

TEST(NfqDispatch, HairpinWithAddressDependentFilteringNeedsTheHolePunchedFirst) {
  Engine e;  // address-dependent: a mapping only accepts remotes its endpoint sent to (here: our own address)
  Packet b_out = build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1}));
  ASSERT_EQ(e.run(Direction::outbound, b_out).verdict.action, Action::translated);
  Packet a_out = build_ipv6(kContainer, kRemote, udp(22000, 3478, {1}));
  ASSERT_EQ(e.run(Direction::outbound, a_out).verdict.action, Action::translated);
  const uint16_t a_port = read16(a_out.bytes, a_out.l4), b_port = read16(b_out.bytes, b_out.l4);

  Packet a_to_b = build_ipv6(kContainer, kOutside, udp(22000, b_port, {2}));
  EXPECT_EQ(e.run(Direction::inbound, a_to_b).verdict.reason, Counter::drop_nat66_filtered);  // B never sent to us
  Packet b_to_a = build_ipv6(kContainer2, kOutside, udp(21000, a_port, {3}));
  EXPECT_EQ(e.run(Direction::inbound, b_to_a).verdict.reason, Counter::nat66_hairpin);  // A just did
  Packet again = build_ipv6(kContainer, kOutside, udp(22000, b_port, {4}));
  EXPECT_EQ(e.run(Direction::inbound, again).verdict.reason, Counter::nat66_hairpin);
  EXPECT_EQ(dst_of(again), kContainer2);
}

TEST(NfqDispatch, ResourceRefusalsAreTheOnesAnsweredAdministrativelyProhibited) {
  Engine e;
  Nat66Config tiny = base_config();
  tiny.max_mappings = 1;
  e.masquerade[0] = make_table(tiny);
  Packet first = build_ipv6(kContainer, kRemote, udp(40000, 53, {1}));
  ASSERT_EQ(e.run(Direction::outbound, first).verdict.action, Action::translated);
  Packet second = build_ipv6(kContainer, kRemote, udp(40001, 53, {1}));
  const Bytes before = second.bytes;
  Handled h = e.run(Direction::outbound, second);
  EXPECT_EQ(h.by, Handled::By::masquerade);
  EXPECT_EQ(h.verdict.action, Action::drop);
  EXPECT_EQ(h.verdict.reason, Counter::drop_nat66_table_full);
  EXPECT_TRUE(nat66_answer_admin_prohibited(h.verdict.reason));
  EXPECT_EQ(h.verdict.answer, IcmpAnswer::admin_prohibited);  // the verdict carries it to the engine
  EXPECT_EQ(h.verdict.pointer, 0);  // not a Parameter Problem
  EXPECT_EQ(second.bytes, before);
}

TEST(NfqDispatch, MalformedPacketsAreDroppedByTheParserAndNoTablesDropsEverything) {
  Engine e;
  Packet p = build_ipv6(kContainer, kRemote, udp(40000, 53, {1}));
  Handled h = dispatch(e.tables(), Direction::outbound, Offload{}, p.bytes.data(), 20, e.counters);
  EXPECT_EQ(h.verdict.action, Action::drop);
  EXPECT_EQ(h.verdict.reason, Counter::drop_truncated);

  Tables none{nullptr, {}, kNow};
  Handled n = dispatch(none, Direction::outbound, Offload{}, p.bytes.data(), p.bytes.size(), e.counters);
  EXPECT_EQ(n.verdict.reason, Counter::drop_no_table);
}

TEST(NfqDispatch, MasqueradeOnlyEngineWithAnEmptyNptv6Table) {
  Engine e;
  std::string error;
  e.nptv6 = PrefixTable::compile({}, error);
  ASSERT_TRUE(e.nptv6) << error;
  Packet p = build_ipv6(kContainer, kRemote, udp(40000, 53, {1}));
  EXPECT_EQ(e.run(Direction::outbound, p).verdict.reason, Counter::nat66_outbound);
  Packet q = build_ipv6(addr("fd01:203:405:1::1234"), kRemote, udp(5000, 53, {1}));
  EXPECT_EQ(e.run(Direction::outbound, q).verdict.action, Action::not_ours);
}

// --- forged inside sources from outside (issue 9 item 1; RFC 2827/BCP 38) ---

// A flood from the outside interface with inside sources to the masquerade address and a live port: each one
// would have been a hairpin packet (and made a mapping for its forged source). Dropped, counted, nothing made.
TEST(NfqDispatch, InsideSourceArrivingOnAnOutsideInterfaceIsDroppedAndMakesNoMapping) {
  Engine e(Nat66Filtering::endpoint_independent);  // the filter would let hairpin through
  e.outside_ifindexes = {kOutsideIf, kOtherOutsideIf};
  Packet b_out = build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1}));
  ASSERT_EQ(e.run(Direction::outbound, b_out).verdict.action, Action::translated);
  const uint16_t b_port = read16(b_out.bytes, b_out.l4);
  for (uint16_t i = 0; i < 50; ++i) {
    Address forged = addr("fd5a:ceb9:ed8d:1::100");
    forged.b[15] = static_cast<uint8_t>(i);
    Packet p = build_ipv6(forged, kOutside, udp(static_cast<uint16_t>(30000 + i), b_port, {9}));
    const Bytes before = p.bytes;
    Handled h = e.arrive(i % 2 ? kOtherOutsideIf : kOutsideIf, p);
    ASSERT_EQ(h.verdict.action, Action::drop);
    ASSERT_EQ(h.verdict.reason, Counter::drop_spoofed_inside_source);
    ASSERT_EQ(p.bytes, before);
  }
  EXPECT_EQ(e.counters.get(Counter::drop_spoofed_inside_source), 50u);
  EXPECT_EQ(e.counters.get(Counter::nat66_hairpin), 0u);
  EXPECT_EQ(e.masquerade[0]->counts().total(), 1u);  // B's own, nothing more
  EXPECT_EQ(e.counters.get(Counter::nat66_mapping_created), 1u);
}

TEST(NfqDispatch, TheSameFromAnInsideInterfaceIsHairpinAsBefore) {
  Engine e(Nat66Filtering::endpoint_independent);
  e.outside_ifindexes = {kOutsideIf};
  Packet b_out = build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1}));
  ASSERT_EQ(e.run(Direction::outbound, b_out).verdict.action, Action::translated);
  const uint16_t b_port = read16(b_out.bytes, b_out.l4);
  Packet a_to_b = build_ipv6(kContainer, kOutside, udp(22000, b_port, {2}));
  Handled h = e.arrive(kInsideIf, a_to_b);
  EXPECT_EQ(h.verdict.reason, Counter::nat66_hairpin);
  EXPECT_EQ(src_of(a_to_b), kOutside);
  EXPECT_EQ(dst_of(a_to_b), kContainer2);
  EXPECT_TRUE(l4_checksum_ok(a_to_b));
  EXPECT_EQ(e.counters.get(Counter::drop_spoofed_inside_source), 0u);
}

// An input interface that is not known (0: the host's own packet, or no outside interfaces named) keeps the
// behaviour from before: the source decides.
TEST(NfqDispatch, UnknownInputInterfaceKeepsHairpinBySource) {
  for (bool named : {false, true}) {
    Engine e(Nat66Filtering::endpoint_independent);
    if (named) e.outside_ifindexes = {kOutsideIf};
    Packet b_out = build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1}));
    ASSERT_EQ(e.run(Direction::outbound, b_out).verdict.action, Action::translated);
    const uint16_t b_port = read16(b_out.bytes, b_out.l4);
    Packet a_to_b = build_ipv6(kContainer, kOutside, udp(22000, b_port, {2}));
    EXPECT_EQ(e.arrive(named ? 0 : kOutsideIf, a_to_b).verdict.reason, Counter::nat66_hairpin) << named;
  }
}

// NPTv6: an inside-prefix source from outside to an outside-prefix address is no hairpin either, and a
// masquerade source is as much inside as an NPTv6 one.
TEST(NfqDispatch, Nptv6InsideOrMasqueradeSourceFromOutsideIsDroppedAndFromInsideTranslated) {
  Engine e;
  e.outside_ifindexes = {kOutsideIf};
  for (Address forged : {addr("fd01:203:405:2::9"), kContainer, addr("fd5a:ceb9:ed8d:2::7")}) {
    Packet p = build_ipv6(forged, addr("2001:db8:1:d550::1234"), udp(53, 5000, {1}));
    const Bytes before = p.bytes;
    Handled h = e.arrive(kOutsideIf, p);
    EXPECT_EQ(h.verdict.action, Action::drop);
    EXPECT_EQ(h.verdict.reason, Counter::drop_spoofed_inside_source);
    EXPECT_FALSE(drop_names_mapping(h.verdict));
    EXPECT_EQ(p.bytes, before);
  }
  EXPECT_EQ(e.counters.get(Counter::drop_spoofed_inside_source), 3u);
  EXPECT_EQ(e.counters.get(Counter::nptv6_inbound), 0u);

  Packet hairpin = build_ipv6(addr("fd01:203:405:2::9"), addr("2001:db8:1:d550::1234"), udp(53, 5000, {1}));
  EXPECT_EQ(e.arrive(kInsideIf, hairpin).verdict.reason, Counter::nptv6_inbound);
  EXPECT_EQ(dst_of(hairpin), addr("fd01:203:405:1::1234"));
  // A remote source from the outside interface is ordinary inbound traffic.
  Packet remote = build_ipv6(kRemote, addr("2001:db8:1:d550::1234"), udp(53, 5000, {1}));
  EXPECT_EQ(e.arrive(kOutsideIf, remote).verdict.reason, Counter::nptv6_inbound);
}

}  // namespace
}  // namespace npt66::test
