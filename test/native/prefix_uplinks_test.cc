// Outside prefixes that follow an interface and several uplinks (issue 11): a mapping with no outside prefix yet
// refuses every translation (drop_no_outside_prefix) and matches nothing inbound; one inside prefix in several
// entries with different interfaces (RFC 6296 s2.4) is chosen by the packet's output interface, each outside
// prefix maps back; the engine resolves the uplinks' interfaces to ifindexes.
#include <gtest/gtest.h>
#include <net/if.h>

#include "dispatch.h"
#include "outside_interfaces.h"
#include "packet_builder.h"
#include "prefix_map.h"

namespace npt66::test {
namespace {

constexpr Direction kOut = Direction::outbound;
constexpr Direction kIn = Direction::inbound;

PrefixPair pair(const std::string& in, const std::string& out, const std::string& interface, uint32_t outdev = 0) {
  PrefixPair p{prefix(in), prefix(out)};
  p.interface = interface;
  p.outdev = outdev;
  return p;
}

PrefixPair pending(const std::string& in, const std::string& interface) {
  PrefixPair p{prefix(in), {}};
  p.interface = interface;
  p.no_outside = true;
  return p;
}

std::shared_ptr<const PrefixTable> compile(const std::vector<PrefixPair>& pairs, std::string* error_out = nullptr) {
  std::string error;
  auto t = PrefixTable::compile(pairs, error);
  if (error_out) *error_out = error;
  return t;
}

std::string counter_name(Counter c) { return c == Counter::count_ ? "ok" : std::string(kCounterInfo[static_cast<size_t>(c)].name); }

// Two uplinks for fd01:203:405::/48 (RFC 6296 s3.6's example prefix): wan0 (ifindex 4) and wan1 (ifindex 9).
std::shared_ptr<const PrefixTable> two_uplinks() {
  return compile({pair("fd01:203:405::/48", "2001:db8:1::/48", "wan0", 4),
                  pair("fd01:203:405::/48", "2001:db8:77::/48", "wan1", 9)});
}

TEST(PrefixUplinks, OneInsidePrefixWithTwoInterfacesCompiles) {
  std::string error;
  ASSERT_NE(compile({pair("fd01:203:405::/48", "2001:db8:1::/48", "wan0"),
                     pair("fd01:203:405::/48", "2001:db8:77::/48", "wan1")}, &error), nullptr) << error;
}

TEST(PrefixUplinks, TheSameInterfaceTwiceOrAPartialOverlapIsStillRefused) {
  std::string error;
  EXPECT_EQ(compile({pair("fd01:203:405::/48", "2001:db8:1::/48", "wan0"),
                     pair("fd01:203:405::/48", "2001:db8:77::/48", "wan0")}, &error), nullptr);
  EXPECT_NE(error.find("overlaps"), std::string::npos) << error;
  EXPECT_EQ(compile({pair("fd01:203:405::/48", "2001:db8:1::/48", "wan0"),
                     pair("fd01:203:405:1::/64", "2001:db8:77::/64", "wan1")}, &error), nullptr);
  EXPECT_EQ(compile({pair("fd01:203:405::/48", "2001:db8:1::/48", ""),
                     pair("fd01:203:405::/48", "2001:db8:77::/48", "")}, &error), nullptr);
  // Two uplinks still need outside prefixes of their own: inbound could not tell them apart.
  EXPECT_EQ(compile({pair("fd01:203:405::/48", "2001:db8:1::/48", "wan0"),
                     pair("fd01:203:405::/48", "2001:db8:1::/48", "wan1")}, &error), nullptr);
}

TEST(PrefixUplinks, OutboundPicksTheOutputInterfacesMapping) {
  auto t = two_uplinks();
  const uint64_t hi = addr("fd01:203:405:1::1234").high64();
  ASSERT_NE(t->match_outbound(hi, 4), nullptr);
  EXPECT_EQ(t->match_outbound(hi, 4)->index, 0u);
  EXPECT_EQ(t->match_outbound(hi, 9)->index, 1u);
  // Leaving by neither (hairpin by an inside interface, unknown): the first configured entry.
  EXPECT_EQ(t->match_outbound(hi, 0)->index, 0u);
  EXPECT_EQ(t->match_outbound(hi, 5)->index, 0u);
  EXPECT_EQ(t->match_outbound(addr("fd01:203:406::1").high64(), 9), nullptr);

  Address a = addr("fd01:203:405:1::1234");
  ASSERT_EQ(map_address(*t->match_outbound(hi, 4), kOut, a), Counter::count_);
  EXPECT_EQ(str(a), "2001:db8:1:d550::1234");  // s3.6
  Address b = addr("fd01:203:405:1::1234");
  ASSERT_EQ(map_address(*t->match_outbound(hi, 9), kOut, b), Counter::count_);
  EXPECT_EQ(b.high64() >> 16, addr("2001:db8:77::").high64() >> 16);
}

TEST(PrefixUplinks, EachOutsidePrefixMapsBackInbound) {
  auto t = two_uplinks();
  for (uint32_t outdev : {4u, 9u}) {
    Address out = addr("fd01:203:405:1::1234");
    map_address(*t->match_outbound(out.high64(), outdev), kOut, out);
    AddressOutcome back = map_address(*t, kIn, out);
    ASSERT_NE(back.mapping, nullptr);
    EXPECT_EQ(back.mapping->index, outdev == 4 ? 0u : 1u);
    EXPECT_EQ(counter_name(back.reason), "ok");
    EXPECT_EQ(str(out), "fd01:203:405:1::1234");
  }
}

TEST(PrefixUplinks, NoOutsidePrefixRefusesOutboundAndMatchesNothingInbound) {
  for (bool alone : {true, false}) {
    SCOPED_TRACE(alone ? "one mapping" : "two mappings");
    std::vector<PrefixPair> pairs{pending("fd01:203:405::/48", "wan0")};
    if (!alone) pairs.push_back(pair("fd00:9::/48", "2001:db8:9::/48", "wan1"));
    std::string error;
    auto t = compile(pairs, &error);
    ASSERT_NE(t, nullptr) << error;
    Address a = addr("fd01:203:405:1::1234");
    AddressOutcome o = map_address(*t, kOut, a);
    ASSERT_NE(o.mapping, nullptr);
    EXPECT_EQ(counter_name(o.reason), "drop_no_outside_prefix");
    EXPECT_EQ(str(a), "fd01:203:405:1::1234") << "refused: untouched";
    // The outside prefix left in the pair (all zeros) is nobody's.
    EXPECT_EQ(t->match(addr("::1"), kIn), nullptr);
    EXPECT_EQ(t->match(addr("2001:db8:1::1"), kIn), nullptr);
  }
}

TEST(PrefixUplinks, ResolvedOutdevsFollowTheInterfaceNames) {
  auto t = compile({pair("fd01:203:405::/48", "2001:db8:1::/48", "lo"),
                    pair("fd01:203:405::/48", "2001:db8:77::/48", "npt66-none0")});
  ASSERT_NE(t, nullptr);
  auto r = nfq::with_resolved_outdevs(t);
  ASSERT_NE(r, t);
  EXPECT_EQ(r->mappings()[0].outdev, if_nametoindex("lo"));
  EXPECT_NE(r->mappings()[0].outdev, 0u);
  EXPECT_EQ(r->mappings()[1].outdev, 0u);
  EXPECT_EQ(nfq::with_resolved_outdevs(r), r) << "nothing changed: the same table";
  const uint64_t hi = addr("fd01:203:405:1::1").high64();
  EXPECT_EQ(r->match_outbound(hi, if_nametoindex("lo"))->index, 0u);
}

// --- the dispatch: Arrival::outdev, and the fail-closed drop ---

Handled outbound(const PrefixTable& t, Packet& p, uint32_t outdev, CounterBlock& counters) {
  Tables tables{&t, {}, 0};
  Arrival arrival;
  arrival.outdev = outdev;
  return dispatch(tables, kOut, Offload{}, p.bytes.data(), p.bytes.size(), counters, arrival);
}

TEST(PrefixUplinks, DispatchTranslatesOutboundWithTheOutputInterfacesPrefix) {
  auto t = two_uplinks();
  CounterBlock counters;
  Packet a = build_ipv6(addr("fd01:203:405:1::1234"), addr("2001:4860:4860::8888"), udp(5000, 53, {1}));
  Packet b = a;
  Handled ha = outbound(*t, a, 4, counters);
  Handled hb = outbound(*t, b, 9, counters);
  EXPECT_EQ(ha.verdict.action, Action::translated);
  EXPECT_EQ(hb.verdict.action, Action::translated);
  EXPECT_EQ(ha.verdict.mapping, 0u);
  EXPECT_EQ(hb.verdict.mapping, 1u);
  EXPECT_EQ(str(Address::from(a.bytes.data() + 8)), "2001:db8:1:d550::1234");
  EXPECT_EQ(Address::from(b.bytes.data() + 8).high64() >> 16, addr("2001:db8:77::").high64() >> 16);
  EXPECT_TRUE(l4_checksum_ok(a));
  EXPECT_TRUE(l4_checksum_ok(b));
  EXPECT_EQ(counters.get(Counter::nptv6_outbound), 2u);
}

TEST(PrefixUplinks, DispatchDropsAndCountsWhileNoOutsidePrefixIsKnown) {
  auto t = compile({pending("fd01:203:405::/48", "wan0"), pair("fd00:9::/48", "2001:db8:9::/48", "wan1")});
  ASSERT_NE(t, nullptr);
  CounterBlock counters;
  // The plain path (UDP) and the general one (an ICMPv6 error from an inside host).
  Packet plain = build_ipv6(addr("fd01:203:405:1::1234"), addr("2001:4860:4860::8888"), udp(5000, 53, {1}));
  const std::vector<uint8_t> before = plain.bytes;
  Handled h = outbound(*t, plain, 4, counters);
  EXPECT_EQ(h.verdict.action, Action::drop);
  EXPECT_EQ(counter_name(h.verdict.reason), "drop_no_outside_prefix");
  EXPECT_EQ(h.by, Handled::By::nptv6);
  EXPECT_EQ(h.verdict.mapping, 0u);
  EXPECT_EQ(plain.bytes, before);
  EXPECT_EQ(counters.get(Counter::drop_no_outside_prefix), 1u);
  EXPECT_TRUE(drop_names_mapping(h.verdict));
  // The other entry keeps working.
  Packet other = build_ipv6(addr("fd00:9:0:1::5"), addr("2001:4860:4860::8888"), udp(5000, 53, {1}));
  EXPECT_EQ(outbound(*t, other, 9, counters).verdict.action, Action::translated);
}

}  // namespace
}  // namespace npt66::test
