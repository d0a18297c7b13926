// NAT66 masquerade packet translation: rewritten fields, checksums against full recomputation for random
// packets, UDP checksum 0, ICMPv6 errors about mapped flows (RFC 5508), hairpinning, and every refusal.
#include <gtest/gtest.h>

#include <random>

#include "nat66_packets.h"
#include "nat66_translate.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 5'000'000;

struct Result {
  Verdict v;
  Packet p;
};

Result run(Nat66Table& t, Direction d, Packet p, CounterBlock& c, uint64_t now = kT0) {
  Verdict v = translate_nat66(t, d, p.bytes.data(), p.bytes.size(), now, c);
  return {v, std::move(p)};
}

L4 echo_reply(uint16_t id, uint16_t seq, const Bytes& data = {'p', 'i', 'n', 'g'}) {
  return icmp6(icmp6::kEchoReply, 0, uint32_t{id} << 16 | seq, data);
}

// Every byte equal except the ranges [from, to) listed.
void expect_same_except(const Bytes& a, const Bytes& b, std::vector<std::pair<size_t, size_t>> allowed) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    bool ok = false;
    for (auto [from, to] : allowed) ok |= i >= from && i < to;
    if (!ok) {
      ASSERT_EQ(a[i], b[i]) << "byte " << i;
    }
  }
}

// --- random TCP / UDP / ICMPv6 echo, both directions, against full recomputation ---

TEST(Nat66Translate, RandomPacketsBothWaysChecksumsMatchFullRecomputation) {
  auto t = make_table(base_config());
  CounterBlock c;
  std::mt19937 rng(1234);
  auto rnd = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  int translated = 0;
  for (int i = 0; i < 600; ++i) {
    SCOPED_TRACE(i);
    Address inside = kContainer, remote = kRemote;
    for (int b = 8; b < 16; ++b) inside.b[b] = static_cast<uint8_t>(rng());
    for (int b = 2; b < 16; ++b) remote.b[b] = static_cast<uint8_t>(rng());
    const uint16_t sport_choices[] = {static_cast<uint16_t>(20000 + rnd(10000)), static_cast<uint16_t>(1 + rnd(1023)),
                                      static_cast<uint16_t>(32768 + rnd(28000))};
    uint16_t sport = sport_choices[rnd(3)];
    uint16_t dport = static_cast<uint16_t>(1 + rnd(65535));
    Bytes payload(rnd(300));
    for (auto& x : payload) x = static_cast<uint8_t>(rng());
    std::vector<Ext> exts;
    if (rnd(4) == 0) exts.push_back(hop_by_hop(8 * (1 + rnd(3))));
    if (rnd(4) == 0) exts.push_back(dest_opts());
    int kind = static_cast<int>(rnd(3));
    L4 out_l4 = kind == 0 ? tcp(sport, dport, payload, rnd(2) ? tcpflag::kSyn : 0x18)
                : kind == 1 ? udp(sport, dport, payload)
                            : echo_request(sport, static_cast<uint16_t>(rnd(65536)), payload);
    const Packet original = build_ipv6(inside, remote, exts, out_l4);
    ASSERT_TRUE(l4_checksum_ok(original));

    Result r = run(*t, Direction::outbound, original, c);
    ASSERT_EQ(r.v.action, Action::translated);
    ASSERT_EQ(r.v.reason, Counter::nat66_outbound);
    const size_t port_off = kind == 2 ? 4 : 0;
    const uint16_t out_port = port_at(r.p, port_off);
    Nat66Binding b;
    ASSERT_EQ(t->find_inside(kind == 0 ? Nat66Proto::tcp : kind == 1 ? Nat66Proto::udp : Nat66Proto::icmp, inside,
                             sport, kT0, b),
              Nat66Lookup::found);
    EXPECT_EQ(b.handle, r.v.mapping);
    EXPECT_EQ(out_port, b.outside_port);
    if (sport < 1024 && kind != 2) {
      EXPECT_LT(out_port, 1024);
    } else {
      EXPECT_TRUE(out_port >= 20000 && out_port <= 29999) << out_port;
    }
    EXPECT_EQ(Address::from(r.p.bytes.data() + 8), kOutside);
    EXPECT_EQ(read16(r.p.bytes, r.p.checksum_at), full_checksum(r.p));
    EXPECT_TRUE(l4_checksum_ok(r.p));
    expect_same_except(original.bytes, r.p.bytes,
                       {{8, 24}, {r.p.l4 + port_off, r.p.l4 + port_off + 2},
                        {static_cast<size_t>(r.p.checksum_at), static_cast<size_t>(r.p.checksum_at) + 2}});

    // The reply, as the remote sends it to the outside address, comes back to the inside endpoint.
    L4 in_l4 = kind == 0 ? tcp(dport, out_port, payload, 0x12)
               : kind == 1 ? udp(dport, out_port, payload)
                           : echo_reply(out_port, 7, payload);
    const Packet reply = build_ipv6(remote, kOutside, exts, in_l4);
    Result back = run(*t, Direction::inbound, reply, c);
    ASSERT_EQ(back.v.action, Action::translated);
    ASSERT_EQ(back.v.reason, Counter::nat66_inbound);
    EXPECT_EQ(back.v.mapping, b.handle);
    EXPECT_EQ(Address::from(back.p.bytes.data() + 24), inside);
    EXPECT_EQ(port_at(back.p, kind == 2 ? 4 : 2), sport);
    EXPECT_EQ(read16(back.p.bytes, back.p.checksum_at), full_checksum(back.p));
    EXPECT_TRUE(l4_checksum_ok(back.p));
    ++translated;
  }
  EXPECT_EQ(c.get(Counter::nat66_outbound), static_cast<uint64_t>(translated));
  EXPECT_EQ(c.get(Counter::nat66_inbound), static_cast<uint64_t>(translated));
}

// --- UDP checksum 0 (RFC 8200 s8.1) ---

TEST(Nat66Translate, UdpChecksumZeroArrivingIsDroppedAndComputedZeroIsSentAsFfff) {
  auto t = make_table(base_config());
  CounterBlock c;
  Packet p = build_ipv6(kContainer, kRemote, udp(25000, 53, {1, 2, 3, 4}));
  p.bytes[p.checksum_at] = p.bytes[p.checksum_at + 1] = 0;
  const Bytes before = p.bytes;
  Result r = run(*t, Direction::outbound, p, c);
  EXPECT_EQ(r.v.action, Action::drop);
  EXPECT_EQ(r.v.reason, Counter::drop_nat66_udp_zero_checksum);
  EXPECT_EQ(r.p.bytes, before);
  EXPECT_EQ(c.get(Counter::drop_nat66_udp_zero_checksum), 1u);
  EXPECT_EQ(t->counts().total(), 0u);

  // Choose a payload word so that the translated packet sums to all ones: its checksum computes as 0, which
  // UDP must send as 0xFFFF. The port (25000, in range and free) is preserved, so the result is predictable.
  Packet probe = build_ipv6(kOutside, kRemote, {}, udp(25000, 53, {0, 0}), false);
  uint16_t s = csum::sum_bytes(probe.bytes.data() + probe.l4, probe.bytes.size() - probe.l4);
  s = csum::add(s, csum::add(csum::sum_address(kOutside), csum::sum_address(kRemote)));
  s = csum::add(s, static_cast<uint16_t>(probe.bytes.size() - probe.l4));
  s = csum::add(s, ip6::kUdp);
  uint16_t w = static_cast<uint16_t>(~s);
  Packet q = build_ipv6(kContainer, kRemote, udp(25000, 53, {static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w)}));
  ASSERT_TRUE(l4_checksum_ok(q));
  Result rq = run(*t, Direction::outbound, q, c);
  ASSERT_EQ(rq.v.action, Action::translated);
  ASSERT_EQ(port_at(rq.p, 0), 25000);
  EXPECT_EQ(read16(rq.p.bytes, rq.p.checksum_at), 0xFFFF);
  EXPECT_EQ(full_checksum(rq.p), 0xFFFF);
  EXPECT_TRUE(l4_checksum_ok(rq.p));

  // Inbound: 0 to a mapped port is dropped; 0 to an unmapped one is the host's business.
  Packet in = build_ipv6(kRemote, kOutside, udp(53, 25000, {9}));
  in.bytes[in.checksum_at] = in.bytes[in.checksum_at + 1] = 0;
  EXPECT_EQ(run(*t, Direction::inbound, in, c).v.reason, Counter::drop_nat66_udp_zero_checksum);
  Packet other = build_ipv6(kRemote, kOutside, udp(53, 40000, {9}));
  other.bytes[other.checksum_at] = other.bytes[other.checksum_at + 1] = 0;
  EXPECT_EQ(run(*t, Direction::inbound, other, c).v.action, Action::not_ours);
  EXPECT_EQ(c.get(Counter::drop_nat66_udp_zero_checksum), 2u);
}

// --- ICMPv6 errors (RFC 5508 s4) ---

struct ErrorCase {
  const char* name;
  L4 l4;
  uint8_t type, code;
  uint32_t param;
  size_t quote;
};

TEST(Nat66IcmpError, InboundErrorAboutAMappedFlowRestoresTheQuotedPacket) {
  Bytes big(1400, 0x5A);
  std::vector<ErrorCase> cases = {
      {"udp port unreachable, whole quote", udp(40000, 53, {1, 2, 3}), icmp6::kDestUnreachable, 4, 0, 1232},
      {"tcp packet too big, cut quote", tcp(40001, 443, big), icmp6::kPacketTooBig, 0, 1280, 1232},
      {"tcp time exceeded, quote without checksum", tcp(40002, 443, {1}), icmp6::kTimeExceeded, 0, 0, 48},
      {"echo time exceeded", echo_request(21000, 3), icmp6::kTimeExceeded, 0, 0, 1232},
      {"udp param problem", udp(123, 123, Bytes(40, 1)), icmp6::kParamProblem, 0, 42, 1232},
  };
  for (const ErrorCase& k : cases) {
    SCOPED_TRACE(k.name);
    auto t = make_table(base_config());
    CounterBlock c;
    const Packet original = build_ipv6(kContainer, kRemote, k.l4);
    Result out = run(*t, Direction::outbound, original, c);
    ASSERT_EQ(out.v.action, Action::translated);

    // A router on the way answers the translated packet, to the outside address.
    Packet err = build_ipv6(kRouter, kOutside, icmp6_error(k.type, k.code, k.param, out.p.bytes, k.quote));
    const size_t quoted_len = std::min(k.quote, out.p.bytes.size());
    Result in = run(*t, Direction::inbound, err, c, kT0 + 1'000);
    ASSERT_EQ(in.v.action, Action::translated);
    EXPECT_EQ(in.v.reason, Counter::nat66_icmp_error_inbound);
    EXPECT_EQ(in.v.mapping, out.v.mapping);
    EXPECT_EQ(Address::from(in.p.bytes.data() + 24), kContainer);
    EXPECT_EQ(Address::from(in.p.bytes.data() + 8), kRouter);
    // The quote is exactly what the inside host sent (addresses, port/id and inner checksum put back).
    Bytes quoted(in.p.bytes.begin() + static_cast<std::ptrdiff_t>(in.p.l4 + 8), in.p.bytes.end());
    ASSERT_EQ(quoted.size(), quoted_len);
    EXPECT_TRUE(std::equal(quoted.begin(), quoted.end(), original.bytes.begin()));
    if (quoted_len == original.bytes.size()) {
      EXPECT_TRUE(l4_checksum_ok(quoted, original.l4, original.proto));
    }
    EXPECT_EQ(read16(in.p.bytes, in.p.checksum_at), full_checksum(in.p));
    EXPECT_TRUE(l4_checksum_ok(in.p));
    EXPECT_EQ(c.get(Counter::nat66_icmp_error_inbound), 1u);
  }
}

TEST(Nat66IcmpError, OutboundErrorFromInsideMapsTheQuoteAndTheSourceOut) {
  Nat66Config cfg = base_config();
  cfg.filtering = Nat66Filtering::endpoint_independent;
  auto t = make_table(cfg);
  CounterBlock c;
  // A flow the container opened, then a packet the remote sent back, translated in.
  ASSERT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, udp(40000, 53, {1})), c).v.action,
            Action::translated);
  Nat66Binding b;
  ASSERT_EQ(t->find_inside(Nat66Proto::udp, kContainer, 40000, kT0, b), Nat66Lookup::found);
  for (const Address& reporter : {kContainer, kContainer2}) {  // the host itself, or an inside router
    SCOPED_TRACE(str(reporter));
    const Packet as_sent = build_ipv6(kRemote2, kOutside, udp(5353, b.outside_port, Bytes(100, 7)));
    Result in = run(*t, Direction::inbound, as_sent, c);
    ASSERT_EQ(in.v.action, Action::translated);
    Packet err = build_ipv6(reporter, kRemote2, icmp6_error(icmp6::kDestUnreachable, 4, 0, in.p.bytes));
    Result out = run(*t, Direction::outbound, err, c);
    ASSERT_EQ(out.v.action, Action::translated);
    EXPECT_EQ(out.v.reason, Counter::nat66_icmp_error_outbound);
    EXPECT_EQ(Address::from(out.p.bytes.data() + 8), kOutside);
    Bytes quoted(out.p.bytes.begin() + static_cast<std::ptrdiff_t>(out.p.l4 + 8), out.p.bytes.end());
    EXPECT_EQ(quoted, as_sent.bytes);  // what the remote sent, so it can match the error to its socket
    EXPECT_TRUE(l4_checksum_ok(out.p));
    EXPECT_EQ(read16(out.p.bytes, out.p.checksum_at), full_checksum(out.p));
  }
}

TEST(Nat66IcmpError, ErrorsWithoutAMappingAreDroppedOrLeftToTheHost) {
  auto t = make_table(base_config());
  CounterBlock c;
  // Quoting a masquerade-range port nobody holds: stale or forged, dropped.
  Packet quoted = build_ipv6(kOutside, kRemote, udp(25555, 53, {1}));
  Packet err = build_ipv6(kRouter, kOutside, icmp6_error(icmp6::kDestUnreachable, 4, 0, quoted.bytes));
  const Bytes before = err.bytes;
  Result r = run(*t, Direction::inbound, err, c);
  EXPECT_EQ(r.v.action, Action::drop);
  EXPECT_EQ(r.v.reason, Counter::drop_nat66_no_mapping);
  EXPECT_EQ(r.p.bytes, before);
  // Quoting the host's own port (outside the range): its business.
  Packet own = build_ipv6(kOutside, kRemote, tcp(45000, 443));
  Result r2 = run(*t, Direction::inbound,
                  build_ipv6(kRouter, kOutside, icmp6_error(icmp6::kPacketTooBig, 0, 1280, own.bytes)), c);
  EXPECT_EQ(r2.v.action, Action::not_ours);
  EXPECT_EQ(r2.v.reason, Counter::nat66_inbound_unmapped);
  // From inside, an error about nothing we mapped would leak the inside address: dropped.
  Packet in = build_ipv6(kRemote, kContainer, udp(53, 40000, {1}));
  Result r3 = run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, icmp6_error(1, 4, 0, in.bytes)), c);
  EXPECT_EQ(r3.v.reason, Counter::drop_nat66_no_mapping);
  EXPECT_EQ(c.get(Counter::drop_nat66_no_mapping), 2u);
}

TEST(Nat66IcmpError, FilteringTruncationChecksumAndNoRefresh) {
  auto t = make_table(base_config());  // address-dependent filtering
  CounterBlock c;
  Result out = run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, udp(40000, 53, {1})), c);
  ASSERT_EQ(out.v.action, Action::translated);

  // Quoting a packet to a remote the container never sent to: filtered.
  Packet forged = out.p;
  kRemote2.store(forged.bytes.data() + 24);
  Result f = run(*t, Direction::inbound, build_ipv6(kRouter, kOutside, icmp6_error(1, 4, 0, forged.bytes)), c);
  EXPECT_EQ(f.v.reason, Counter::drop_nat66_filtered);

  // Quote too short for the ports, and too short for an IPv6 header.
  Result s1 = run(*t, Direction::inbound, build_ipv6(kRouter, kOutside, icmp6_error(1, 4, 0, out.p.bytes, 42)), c);
  EXPECT_EQ(s1.v.reason, Counter::drop_nat66_inner_truncated);
  Result s2 = run(*t, Direction::inbound, build_ipv6(kRouter, kOutside, icmp6_error(1, 4, 0, out.p.bytes, 30)), c);
  EXPECT_EQ(s2.v.reason, Counter::drop_icmp_inner_truncated);

  // A corrupted error is not laundered by the recomputation.
  Packet bad = build_ipv6(kRouter, kOutside, icmp6_error(1, 4, 0, out.p.bytes));
  bad.bytes[bad.checksum_at] ^= 0x40;
  EXPECT_EQ(run(*t, Direction::inbound, bad, c).v.reason, Counter::drop_nat66_icmp_bad_checksum);

  // Errors never refresh: the mapping still dies 5 min after the last real packet.
  Packet good = build_ipv6(kRouter, kOutside, icmp6_error(1, 4, 0, out.p.bytes));
  EXPECT_EQ(run(*t, Direction::inbound, good, c, kT0 + 250'000).v.action, Action::translated);
  EXPECT_EQ(t->expire(kT0 + 302'000, 1'000'000, c), 1u);
}

// --- hairpinning (RFC 4787 REQ-9) ---

TEST(Nat66Hairpin, ContainerReachesAnotherThroughTheOutsideAddressBothWays) {
  Nat66Config cfg = base_config();
  cfg.filtering = Nat66Filtering::endpoint_independent;
  auto t = make_table(cfg);
  CounterBlock c;
  // B has a mapping (opened towards the world): outside port 21000.
  ASSERT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1})), c).v.action,
            Action::translated);
  // A sends to outside:21000.
  Result ab = run(*t, Direction::outbound, build_ipv6(kContainer, kOutside, udp(22000, 21000, {2, 2})), c);
  ASSERT_EQ(ab.v.action, Action::translated);
  EXPECT_EQ(ab.v.reason, Counter::nat66_hairpin);
  EXPECT_EQ(Address::from(ab.p.bytes.data() + 8), kOutside);
  EXPECT_EQ(port_at(ab.p, 0), 22000);  // A's own mapping, port preserved
  EXPECT_EQ(Address::from(ab.p.bytes.data() + 24), kContainer2);
  EXPECT_EQ(port_at(ab.p, 2), 21000);
  EXPECT_EQ(read16(ab.p.bytes, ab.p.checksum_at), full_checksum(ab.p));
  // B answers to what it saw: outside:22000.
  Result ba = run(*t, Direction::outbound, build_ipv6(kContainer2, kOutside, udp(21000, 22000, {3})), c);
  ASSERT_EQ(ba.v.action, Action::translated);
  EXPECT_EQ(Address::from(ba.p.bytes.data() + 8), kOutside);
  EXPECT_EQ(port_at(ba.p, 0), 21000);
  EXPECT_EQ(Address::from(ba.p.bytes.data() + 24), kContainer);
  EXPECT_EQ(port_at(ba.p, 2), 22000);
  EXPECT_TRUE(l4_checksum_ok(ba.p));
  EXPECT_EQ(c.get(Counter::nat66_hairpin), 2u);

  // To the outside address without a mapping there: the host's own service, untouched.
  Packet host = build_ipv6(kContainer, kOutside, tcp(40000, 22));
  Result h = run(*t, Direction::outbound, host, c);
  EXPECT_EQ(h.v.action, Action::not_ours);
  EXPECT_EQ(h.p.bytes, host.bytes);
  EXPECT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer, kOutside, echo_request(21000, 1)), c).v.action,
            Action::not_ours);
}

// Hole punching (RFC 5128 s3.3) between two inside hosts: both have mappings (e.g. towards a rendezvous server).
TEST(Nat66Hairpin, AddressDependentFilteringAppliesAsFromOutside) {
  auto t = make_table(base_config());
  CounterBlock c;
  ASSERT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1})), c).v.action,
            Action::translated);
  ASSERT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, udp(22000, 3478, {1})), c).v.action,
            Action::translated);
  Packet ab = build_ipv6(kContainer, kOutside, udp(22000, 21000, {2}));
  Result first = run(*t, Direction::outbound, ab, c);
  EXPECT_EQ(first.v.reason, Counter::drop_nat66_filtered);  // B never sent to the outside address
  EXPECT_EQ(first.p.bytes, ab.bytes);
  // B sends to A's outside endpoint (A's existing mapping remembers that A sent to the outside address) ...
  EXPECT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer2, kOutside, udp(21000, 22000, {3})), c).v.reason,
            Counter::nat66_hairpin);
  // ... after which A reaches B.
  EXPECT_EQ(run(*t, Direction::outbound, ab, c).v.reason, Counter::nat66_hairpin);
}

// A hairpin packet the peer's filter refuses makes nothing: the sender's mapping is created only once the filter
// lets the packet through (otherwise forged or scanning inside sources fill the table, issue 9 item 1).
TEST(Nat66Hairpin, FilteredHairpinCreatesNoMapping) {
  auto t = make_table(base_config());  // address-dependent
  CounterBlock c;
  ASSERT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer2, kRemote, udp(21000, 3478, {1})), c).v.action,
            Action::translated);
  for (uint16_t port = 30000; port < 30100; ++port) {
    Packet ab = build_ipv6(kContainer, kOutside, udp(port, 21000, {2}));
    Result r = run(*t, Direction::outbound, ab, c);
    ASSERT_EQ(r.v.reason, Counter::drop_nat66_filtered);
    ASSERT_EQ(r.p.bytes, ab.bytes);
  }
  EXPECT_EQ(t->counts().total(), 1u);  // B's only
  EXPECT_EQ(c.get(Counter::nat66_mapping_created), 1u);
  Nat66Binding b;
  EXPECT_EQ(t->find_inside(Nat66Proto::udp, kContainer, 30000, kT0, b), Nat66Lookup::absent);
}

// --- what is not ours, and what is refused ---

TEST(Nat66Translate, NotOursPassesUntouched) {
  auto t = make_table(base_config());
  CounterBlock c;
  struct Case {
    const char* name;
    Direction d;
    Packet p;
    Counter reason;
  };
  std::vector<Case> cases = {
      {"outbound from outside the source prefix", Direction::outbound, build_ipv6(kRemote2, kRemote, udp(1, 2)),
       Counter::not_ours},
      {"inbound to another address", Direction::inbound, build_ipv6(kRemote, kRemote2, udp(1, 2)), Counter::not_ours},
      {"inbound ping of the host", Direction::inbound, build_ipv6(kRemote, kOutside, echo_request(5, 1)),
       Counter::nat66_inbound_unmapped},
      {"inbound tcp to an unmapped port", Direction::inbound, build_ipv6(kRemote, kOutside, tcp(443, 25000)),
       Counter::nat66_inbound_unmapped},
      {"inbound echo reply with no mapping (the host's ping)", Direction::inbound,
       build_ipv6(kRemote, kOutside, echo_reply(25000, 1)), Counter::nat66_inbound_unmapped},
      {"neighbor solicitation from inside to its solicited-node group", Direction::outbound,
       build_ipv6(kContainer, addr("ff02::1:ff00:1"), icmp6(135, 0)), Counter::not_ours},
      {"neighbor advertisement from inside to a link-local address", Direction::outbound,
       build_ipv6(kContainer, addr("fe80::1"), icmp6(136, 0)), Counter::not_ours},
      {"neighbor solicitation from outside to the address", Direction::inbound,
       build_ipv6(kRemote, kOutside, icmp6(135, 0)), Counter::not_ours},
  };
  for (auto& k : cases) {
    SCOPED_TRACE(k.name);
    const Bytes before = k.p.bytes;
    Result r = run(*t, k.d, k.p, c);
    EXPECT_EQ(r.v.action, Action::not_ours);
    EXPECT_EQ(r.v.reason, k.reason);
    EXPECT_EQ(r.p.bytes, before);
  }
  EXPECT_EQ(t->counts().total(), 0u);
}

TEST(Nat66Translate, WhatCannotBeMappedFromInsideIsDroppedNeverLeaked) {
  auto t = make_table(base_config());
  CounterBlock c;
  struct Case {
    const char* name;
    Packet p;
    Counter reason;
  };
  std::vector<Case> cases = {
      {"sctp", build_ipv6(kContainer, kRemote, opaque(132)), Counter::drop_nat66_protocol},
      {"echo reply from inside", build_ipv6(kContainer, kRemote, echo_reply(21000, 1)), Counter::drop_nat66_protocol},
      {"esp", build_ipv6(kContainer, kRemote, opaque(ip6::kEsp)), Counter::drop_nat66_protocol},
      {"later fragment", build_ipv6(kContainer, kRemote, {fragment(10, false)}, opaque(ip6::kUdp)),
       Counter::drop_nat66_fragment},
      {"tcp header cut short", build_ipv6(kContainer, kRemote, opaque(ip6::kTcp, Bytes(12, 0))),
       Counter::drop_nat66_l4_truncated},
      {"neighbor solicitation to an off-link global address", build_ipv6(kContainer, kRemote, icmp6(135, 0)),
       Counter::drop_nd_mld_off_link},
      {"mld report to a global address", build_ipv6(kContainer, kRemote, {hop_by_hop()}, icmp6(143, 0)),
       Counter::drop_nd_mld_off_link},
      {"malformed ipv6", build_ipv6(kContainer, kRemote, udp(1, 2)), Counter::drop_truncated},
  };
  cases.back().p.bytes.resize(30);
  for (auto& k : cases) {
    SCOPED_TRACE(k.name);
    const Bytes before = k.p.bytes;
    const uint64_t counted = c.get(k.reason);
    Result r = run(*t, Direction::outbound, k.p, c);
    EXPECT_EQ(r.v.action, Action::drop);
    EXPECT_EQ(r.v.reason, k.reason);
    EXPECT_FALSE(nat66_answer_admin_prohibited(r.v.reason));
    EXPECT_EQ(r.p.bytes, before);
    EXPECT_EQ(c.get(k.reason), counted + 1);
  }
  EXPECT_EQ(t->counts().total(), 0u);
}

TEST(Nat66Translate, RefusedNewFlowAsksForAdministrativelyProhibited) {
  Nat66Config cfg = base_config();
  cfg.max_mappings = 1;
  auto t = make_table(cfg);
  CounterBlock c;
  ASSERT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, udp(40000, 53)), c).v.action,
            Action::translated);
  Packet second = build_ipv6(kContainer2, kRemote, tcp(40000, 443, {}, tcpflag::kSyn));
  Result r = run(*t, Direction::outbound, second, c);
  EXPECT_EQ(r.v.action, Action::drop);
  EXPECT_EQ(r.v.reason, Counter::drop_nat66_table_full);
  EXPECT_TRUE(nat66_answer_admin_prohibited(r.v.reason));
  EXPECT_EQ(r.p.bytes, second.bytes);
  EXPECT_EQ(c.get(Counter::drop_nat66_table_full), 1u);
  // The old flow keeps working.
  EXPECT_EQ(run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, udp(40000, 53)), c).v.action,
            Action::translated);
}

TEST(Nat66Translate, InboundFromAFilteredRemoteIsDroppedUnchanged) {
  auto t = make_table(base_config());
  CounterBlock c;
  Result out = run(*t, Direction::outbound, build_ipv6(kContainer, kRemote, udp(25000, 53, {1})), c);
  ASSERT_EQ(out.v.action, Action::translated);
  Packet in = build_ipv6(kRemote2, kOutside, udp(53, 25000, {2}));
  Result r = run(*t, Direction::inbound, in, c);
  EXPECT_EQ(r.v.action, Action::drop);
  EXPECT_EQ(r.v.reason, Counter::drop_nat66_filtered);
  EXPECT_EQ(r.p.bytes, in.bytes);
  EXPECT_EQ(c.get(Counter::drop_nat66_filtered), 1u);
}

}  // namespace
}  // namespace npt66::test
