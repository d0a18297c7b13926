// Proxy NDP decisions (native/core/ndp_proxy): which Neighbor Solicitations are answered, and the exact Neighbor
// Advertisement. Solicitations are built with the reference checksum of packet_builder.h (not the core's).
#include "ndp_proxy.h"

#include <gtest/gtest.h>

#include <random>

#include "packet_builder.h"

namespace npt66 {
namespace {

using test::addr;
using test::Bytes;

constexpr const char* kInside = "fd00:1::/64";
constexpr const char* kOutside = "2001:db8:ff66::/64";

std::shared_ptr<const NdpProxyPolicy> policy(NdpProxyMode mode, std::vector<Address> neighbours = {}) {
  NdpProxyEntry e;
  e.pair.inside = test::prefix(kInside);
  e.pair.outside = test::prefix(kOutside);
  e.pair.interface = "eth0";
  e.mode = mode;
  e.neighbours = std::move(neighbours);
  std::string error;
  auto p = NdpProxyPolicy::compile({e}, error);
  EXPECT_NE(p, nullptr) << error;
  return p;
}

NdpLink link() {
  NdpLink l;
  l.mac = {0x02, 0, 0, 0, 0, 0x01};
  l.has_mac = true;
  l.link_local = addr("fe80::1");
  l.has_link_local = true;
  l.own = {addr("2001:db8:ff66::1"), addr("fe80::1")};
  return l;
}

Address solicited_node(const Address& target) {
  Address a = addr("ff02::1:ff00:0");
  std::memcpy(a.b.data() + 13, target.b.data() + 13, 3);
  return a;
}

// A Neighbor Solicitation (RFC 4861 s4.3) for `target` to its solicited-node address (or `dst`), with a Source
// Link-Layer Address option of length `slla_len` (0: none), checksum filled.
Bytes solicitation(const std::string& src, const std::string& target, bool slla = true, const Address* dst = nullptr,
                   uint8_t hop_limit = 255, uint8_t code = 0, uint8_t slla_len = 1) {
  Bytes body(16);
  addr(target).store(body.data());
  if (slla) body.insert(body.end(), {1, slla_len, 0x02, 0, 0, 0, 0, 0x02});
  const Address to = dst ? *dst : solicited_node(addr(target));
  return test::build_ipv6(addr(src), to, {}, test::icmp6(135, code, 0, body), true, hop_limit).bytes;
}

struct Outcome {
  bool answered;
  Bytes na;
  CounterSnapshot counters{};
};

Outcome decide(const NdpProxyPolicy& p, const Bytes& packet, const NdpLink& l = link()) {
  CounterBlock c;
  Outcome o{false, Bytes(kNdpAdvertLen, 0xEE)};
  o.answered = ndp_proxy_answer(*p.find("eth0"), l, packet.data(), packet.size(), o.na.data(), c);
  accumulate(o.counters, c);
  return o;
}

// The one counter an outcome moved, for "exactly this and nothing else".
Counter only_counter(const Outcome& o) {
  Counter which = Counter::count_;
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (o.counters[i] == 0) continue;
    EXPECT_EQ(which, Counter::count_) << "more than one counter moved";
    EXPECT_EQ(o.counters[i], 1u);
    which = static_cast<Counter>(i);
  }
  return which;
}

TEST(NdpProxy, AnswersALiveNeighbourWithTheKnownAdvertisement) {
  auto p = policy(NdpProxyMode::neighbours, {addr("2001:db8:ff66::10")});
  Outcome o = decide(*p, solicitation("fe80::2", "2001:db8:ff66::10"));
  ASSERT_TRUE(o.answered);
  EXPECT_EQ(only_counter(o), Counter::count_);  // the sender counts it once sent
  // RFC 4861 s4.4, written out by hand: IPv6 header (payload 32, ICMPv6, hop limit 255, fe80::1 -> fe80::2), NA
  // type 136 code 0, checksum 0x096e (computed apart from npt66, by Python's sum over the pseudo-header), flags
  // Solicited only (R 0, O 0: RFC 4861 s7.2.8), target, TLLA option (type 2, length 1, 02:00:00:00:00:01).
  const Bytes expected = {
      0x60, 0, 0, 0, 0x00, 0x20, 58, 255,                                      //
      0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,                 // source fe80::1
      0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,                 // destination fe80::2
      136, 0, 0x09, 0x6e, 0x40, 0, 0, 0,                                       //
      0x20, 0x01, 0x0d, 0xb8, 0xff, 0x66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,     // target
      2, 1, 0x02, 0, 0, 0, 0, 0x01,                                            // TLLA
  };
  EXPECT_EQ(o.na, expected);
  EXPECT_TRUE(test::l4_checksum_ok(o.na, 40, 58));
}

TEST(NdpProxy, AnswersUnicastUnreachabilityProbes) {
  auto p = policy(NdpProxyMode::neighbours, {addr("2001:db8:ff66::10")});
  const Address target = addr("2001:db8:ff66::10");
  Outcome o = decide(*p, solicitation("2001:db8:ff66::99", "2001:db8:ff66::10", false, &target));
  ASSERT_TRUE(o.answered);
  EXPECT_EQ(Address::from(o.na.data() + 24), addr("2001:db8:ff66::99"));  // to the solicitation's source
  EXPECT_TRUE(test::l4_checksum_ok(o.na, 40, 58));
}

TEST(NdpProxy, NeverAnswersDadProbes) {
  // RFC 4862 s5.4.3: source ::, to the solicited-node address, no SLLA. Not answered in either mode.
  for (NdpProxyMode mode : {NdpProxyMode::neighbours, NdpProxyMode::prefix}) {
    auto p = policy(mode, {addr("2001:db8:ff66::10")});
    Outcome o = decide(*p, solicitation("::", "2001:db8:ff66::10", false));
    EXPECT_FALSE(o.answered);
    EXPECT_EQ(only_counter(o), Counter::ndp_proxy_ignored_dad);
    EXPECT_EQ(o.na, Bytes(kNdpAdvertLen, 0xEE));  // nothing written
    // A probe for an address npt66 does not answer for is simply not ours.
    EXPECT_EQ(only_counter(decide(*p, solicitation("::", "2001:db8:ff67::10", false))), Counter::ndp_proxy_not_ours);
  }
}

TEST(NdpProxy, NeighboursModeAnswersOnlyTheList) {
  auto p = policy(NdpProxyMode::neighbours, {addr("2001:db8:ff66::10")});
  EXPECT_EQ(only_counter(decide(*p, solicitation("fe80::2", "2001:db8:ff66::11"))), Counter::ndp_proxy_not_ours);
  auto none = policy(NdpProxyMode::neighbours);
  EXPECT_EQ(only_counter(decide(*none, solicitation("fe80::2", "2001:db8:ff66::10"))), Counter::ndp_proxy_not_ours);
}

TEST(NdpProxy, PrefixModeAnswersTheTranslatableAddressesOfThePrefix) {
  auto p = policy(NdpProxyMode::prefix);
  for (const char* t : {"2001:db8:ff66::10", "2001:db8:ff66::2", "2001:db8:ff66:0:ffff:ffff:ffff:fffe"})
    EXPECT_TRUE(decide(*p, solicitation("fe80::2", t)).answered) << t;
  // Never: outside the prefix, the interface's own address (the kernel answers it), the subnet-router anycast
  // address (RFC 4291 s2.6.1) and the all-ones interface identifier (RFC 6296 s3.5), which npt66 refuses to
  // translate anyway.
  for (const char* t : {"2001:db8:ff67::10", "2001:db8:ff66:1::10", "2001:db8:ff66::1", "2001:db8:ff66::",
                        "2001:db8:ff66:0:ffff:ffff:ffff:ffff", "fe80::1", "fe80::10"})
    EXPECT_EQ(only_counter(decide(*p, solicitation("fe80::2", t))), Counter::ndp_proxy_not_ours) << t;
}

TEST(NdpProxy, PrefixModeWithA48LeavesSubnetFfffOut) {
  NdpProxyEntry e;
  e.pair.inside = test::prefix("fd00:1::/48");
  e.pair.outside = test::prefix("2001:db8:ff66::/48");
  e.pair.interface = "eth0";
  e.mode = NdpProxyMode::prefix;
  std::string error;
  auto p = NdpProxyPolicy::compile({e}, error);
  ASSERT_NE(p, nullptr) << error;
  EXPECT_TRUE(decide(*p, solicitation("fe80::2", "2001:db8:ff66:7::10")).answered);
  // RFC 6296 s4.2: subnet 0xFFFF of a /48 collides with subnet 0 and is never translated.
  EXPECT_EQ(only_counter(decide(*p, solicitation("fe80::2", "2001:db8:ff66:ffff::10"))), Counter::ndp_proxy_not_ours);
}

TEST(NdpProxy, RefusesWhatRfc4861Section711Discards) {
  auto p = policy(NdpProxyMode::prefix);
  const Bytes good = solicitation("fe80::2", "2001:db8:ff66::10");
  ASSERT_TRUE(decide(*p, good).answered);
  auto expect_invalid = [&](const Bytes& b, const char* why) {
    EXPECT_EQ(only_counter(decide(*p, b)), Counter::ndp_proxy_invalid) << why;
  };
  expect_invalid(solicitation("fe80::2", "2001:db8:ff66::10", true, nullptr, 254), "hop limit 254");
  expect_invalid(solicitation("fe80::2", "2001:db8:ff66::10", true, nullptr, 255, 1), "code 1");
  Bytes sum = good;
  sum[42] ^= 0x01;
  expect_invalid(sum, "bad checksum");
  Bytes shorter = good;
  shorter.resize(40 + 20);
  shorter[5] = 20;
  expect_invalid(shorter, "ICMP length 20 < 24");
  Bytes cut = good;
  cut.resize(cut.size() - 4);
  expect_invalid(cut, "payload length beyond the packet");
  Address ff = addr("ff02::1");
  expect_invalid(solicitation("fe80::2", "ff02::1", true, &ff), "multicast target");
  expect_invalid(solicitation("fe80::2", "2001:db8:ff66::10", true, nullptr, 255, 0, 0), "option of length 0");
  expect_invalid(solicitation("fe80::2", "2001:db8:ff66::10", true, nullptr, 255, 0, 2), "option beyond the message");
  Address elsewhere = addr("ff02::1:ff00:11");
  expect_invalid(solicitation("fe80::2", "2001:db8:ff66::10", true, &elsewhere), "to another solicited-node address");
  // A source no node sends from (ip6_rcv_core's rule; an AF_PACKET socket sees frames before it): the answer
  // would go to a group or nowhere.
  expect_invalid(solicitation("ff02::1", "2001:db8:ff66::10"), "multicast source");
  expect_invalid(solicitation("::1", "2001:db8:ff66::10"), "loopback source");
  expect_invalid(solicitation("::ffff:192.0.2.1", "2001:db8:ff66::10"), "IPv4-mapped source");
  expect_invalid(solicitation("::", "2001:db8:ff66::10", true), "DAD probe with an SLLA option");
  Address target = addr("2001:db8:ff66::10");
  expect_invalid(solicitation("::", "2001:db8:ff66::10", false, &target), "DAD probe to a unicast address");
  Bytes ext = test::build_ipv6(addr("fe80::2"), solicited_node(target), {test::hop_by_hop()},
                               test::icmp6(135, 0, 0, Bytes(good.begin() + 48, good.end())), true, 255)
                  .bytes;
  expect_invalid(ext, "behind an extension header");
  Bytes echo = test::build_ipv6(addr("fe80::2"), solicited_node(target), {}, test::echo_request(1, 1), true, 255).bytes;
  expect_invalid(echo, "not a solicitation");
}

TEST(NdpProxy, NoLinkLocalSourceNoAnswer) {
  auto p = policy(NdpProxyMode::prefix);
  NdpLink l = link();
  l.has_link_local = false;
  Outcome o = decide(*p, solicitation("fe80::2", "2001:db8:ff66::10"), l);
  EXPECT_FALSE(o.answered);
  EXPECT_EQ(only_counter(o), Counter::ndp_proxy_send_failed);
}

// A link with no 6-byte link-layer address (tun, for one): no answer rather than one advertising 00:00:00:00:00:00.
TEST(NdpProxy, NoLinkLayerAddressNoAnswer) {
  auto p = policy(NdpProxyMode::prefix);
  NdpLink l = link();
  l.has_mac = false;
  Outcome o = decide(*p, solicitation("fe80::2", "2001:db8:ff66::10"), l);
  EXPECT_FALSE(o.answered);
  EXPECT_EQ(only_counter(o), Counter::ndp_proxy_send_failed);
}

TEST(NdpProxy, PolicyGroupsEntriesByInterface) {
  NdpProxyEntry a, b;
  a.pair.inside = test::prefix("fd00:1::/64");
  a.pair.outside = test::prefix("2001:db8:ff66::/64");
  a.pair.interface = "wan0";
  b.pair.inside = test::prefix("fd00:1::/64");
  b.pair.outside = test::prefix("2001:db8:ff77::/64");
  b.pair.interface = "wan1";
  b.mode = NdpProxyMode::prefix;
  std::string error;
  auto p = NdpProxyPolicy::compile({a, b}, error);
  ASSERT_NE(p, nullptr) << error;
  ASSERT_NE(p->find("wan0"), nullptr);
  ASSERT_NE(p->find("wan1"), nullptr);
  EXPECT_EQ(p->find("eth0"), nullptr);
  // Each interface answers for its own prefix only.
  CounterBlock c;
  Bytes na(kNdpAdvertLen);
  const Bytes ns = solicitation("fe80::2", "2001:db8:ff77::10");
  EXPECT_FALSE(ndp_proxy_answer(*p->find("wan0"), link(), ns.data(), ns.size(), na.data(), c));
  EXPECT_TRUE(ndp_proxy_answer(*p->find("wan1"), link(), ns.data(), ns.size(), na.data(), c));
  b.pair.interface = "";
  EXPECT_EQ(NdpProxyPolicy::compile({b}, error), nullptr);
}

// Solicitations come from anyone on the link: random damage to valid ones (bytes changed, cut short, grown) must
// never read past the packet (ASan in the sanitizer build), never answer anything but a valid solicitation for a
// listed target, and always answer it correctly. Fixed seed; every outcome counted exactly once.
TEST(NdpProxy, DamagedSolicitationsAreRefusedOrAnsweredCorrectly) {
  const std::vector<Address> listed = {addr("2001:db8:ff66::10"), addr("2001:db8:ff66::abcd:1")};
  auto p = policy(NdpProxyMode::neighbours, listed);
  const NdpProxyInterface& entries = *p->find("eth0");
  const NdpLink l = link();
  std::mt19937 rng(6296);
  const char* targets[] = {"2001:db8:ff66::10", "2001:db8:ff66::abcd:1", "2001:db8:ff66::11", "2001:db8:ff67::10"};
  const char* sources[] = {"fe80::2", "2001:db8:100::1", "::"};
  size_t answered = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string target = targets[rng() % 4];
    const std::string src = sources[rng() % 3];
    Bytes b = solicitation(src, target, src != "::");
    switch (rng() % 4) {
      case 0:
        break;  // intact
      case 1:
        for (unsigned n = 1 + rng() % 3; n > 0; --n) b[rng() % b.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:
        b.resize(rng() % b.size());
        break;
      case 3:
        b.insert(b.end(), 1 + rng() % 16, static_cast<uint8_t>(rng()));
        break;
    }
    CounterBlock c;
    Bytes na(kNdpAdvertLen);
    const bool yes = ndp_proxy_answer(entries, l, b.data(), b.size(), na.data(), c);
    CounterSnapshot moved{};
    accumulate(moved, c);
    uint64_t total = 0;
    for (uint64_t v : moved) total += v;
    ASSERT_EQ(total, yes ? 0u : 1u) << "iteration " << i;
    if (!yes) continue;
    ++answered;
    // Only a well-formed solicitation (RFC 4861 s7.1.1) for a listed target from a unicast source is answered.
    ASSERT_GE(b.size(), 64u);
    ASSERT_EQ(b[6], 58);
    ASSERT_EQ(b[7], 255);
    ASSERT_EQ(b[40], 135);
    ASSERT_EQ(b[41], 0);
    ASSERT_TRUE(test::l4_checksum_ok(Bytes(b.begin(), b.begin() + 40 + test::read16(b, 4)), 40, 58)) << "iteration " << i;
    const Address t = Address::from(b.data() + 48);
    ASSERT_TRUE(t == listed[0] || t == listed[1]) << test::str(t);
    ASSERT_FALSE(Address::from(b.data() + 8) == Address{});
    // And answered right: to the source, about the target, checksum valid.
    ASSERT_TRUE(Address::from(na.data() + 24) == Address::from(b.data() + 8));
    ASSERT_TRUE(Address::from(na.data() + 48) == t);
    ASSERT_TRUE(test::l4_checksum_ok(na, 40, 58));
  }
  EXPECT_GT(answered, 2000u);  // the intact ones for listed targets from unicast sources, at least
}

}  // namespace
}  // namespace npt66
