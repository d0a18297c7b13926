// A masquerade table's outside addresses changed while it runs (Nat66Table::set_outside, nat66_pool.h): the
// address follows its interface (issue 10 part 3). New flows take the new address; mappings on an address that
// went are dropped and counted; those on one that remains (kept) live on; with no address, nothing leaves.
#include <gtest/gtest.h>

#include <vector>

#include "nat66_packets.h"
#include "nat66_translate.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;
const Address kNew = addr("fd5a:ceb9:ed8d:fe0a::1:2");   // the interface's next stable address
const Address kThird = addr("fd5a:ceb9:ed8d:fe0a::3:3");

TEST(Nat66Outside, ReplacedAddressNewFlowsTakeTheNewOneMappingsOnTheOldGo) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding old = create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), kT0, c);
  ASSERT_EQ(old.outside, kOutside);

  ASSERT_EQ(t->set_outside({kNew}, {}), "");
  // Inbound to the address that went stops matching at once, before any pass.
  Nat66Binding b;
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, kOutside, old.outside_port, kT0 + 1, b, &kRemote), Nat66Lookup::absent);
  EXPECT_EQ(t->outside_index(kOutside), -1);
  EXPECT_EQ(t->outside_in_use(), std::vector<Address>{kNew});

  // A new flow (another inside port of the same host) takes the new address.
  Nat66Binding fresh = create_ok(*t, udp_flow(kContainer, 25001, kRemote, 53), kT0 + 1, c);
  EXPECT_EQ(fresh.outside, kNew);
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, kNew, fresh.outside_port, kT0 + 2, b, &kRemote), Nat66Lookup::found);

  std::vector<Nat66MappingEvent> events;
  t->drain_events(events);
  events.clear();
  EXPECT_EQ(t->remove_stale(kT0 + 10, c), 1u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_address_gone), 1u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_unsourced), 0u);
  t->drain_events(events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Nat66EventType::destroyed);
  EXPECT_EQ(events[0].mapping.outside, kOutside);
  EXPECT_EQ(t->find_inside(Nat66Proto::udp, kContainer, 25000, kT0 + 10, b), Nat66Lookup::absent);
  // The mapping on the new address lives on.
  EXPECT_EQ(t->find_inside(Nat66Proto::udp, kContainer, 25001, kT0 + 10, b), Nat66Lookup::found);
  EXPECT_EQ(t->remove_stale(kT0 + 20, c), 0u);
  EXPECT_EQ(t->counts().total(), 1u);
}

TEST(Nat66Outside, KeptAddressKeepsItsMappingsNewFlowsTakeTheAddressInUse) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding old = create_ok(*t, tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kSyn), kT0, c);

  // The old address is deprecated but still on the interface: its connection must survive.
  ASSERT_EQ(t->set_outside({kNew}, {kOutside}), "");
  EXPECT_EQ(t->outside_kept(), std::vector<Address>{kOutside});
  EXPECT_EQ(t->remove_stale(kT0 + 10, c), 0u);
  EXPECT_EQ(t->remove_stale(kT0 + 20, c), 0u);
  Nat66Binding b;
  EXPECT_EQ(t->find_outside(Nat66Proto::tcp, kOutside, old.outside_port, kT0 + 20, b, &kRemote), Nat66Lookup::found);
  // Its established flow keeps its address; a new one takes the address in use.
  EXPECT_EQ(create_ok(*t, tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kAck), kT0 + 21, c).outside, kOutside);
  EXPECT_EQ(create_ok(*t, udp_flow(kContainer2, 5000, kRemote, 53), kT0 + 21, c).outside, kNew);

  // Then the kept address goes for good: its mapping goes, counted.
  ASSERT_EQ(t->set_outside({kNew}, {}), "");
  EXPECT_EQ(t->remove_stale(kT0 + 30, c), 1u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_address_gone), 1u);
}

// With no address (the interface lost its only one) a new flow is dropped and counted, never sent untranslated.
TEST(Nat66Outside, NoAddressRefusesNewFlowsNothingLeavesUntranslated) {
  auto t = make_table(base_config());
  ASSERT_EQ(t->set_outside({}, {}), "");
  CounterBlock c;
  Packet p = build_ipv6(kContainer, kRemote, udp(5000, 53, {1}));
  const std::vector<uint8_t> before = p.bytes;
  Verdict v = translate_nat66(*t, Direction::outbound, p.bytes.data(), p.bytes.size(), kT0, c);
  EXPECT_EQ(v.action, Action::drop);
  EXPECT_EQ(c.get(Counter::drop_nat66_no_address), 1u);
  EXPECT_EQ(p.bytes, before);
  // The address back: traffic flows again.
  ASSERT_EQ(t->set_outside({kNew}, {}), "");
  EXPECT_EQ(translate_nat66(*t, Direction::outbound, p.bytes.data(), p.bytes.size(), kT0, c).action, Action::translated);
}

// A retired address's slot is reused once the two passes ran, with its ports cleared: the quarantine of the
// address that went (RFC 6888 REQ-8) does not hold the next address's ports.
TEST(Nat66Outside, SlotsAreReusedAfterThePassesWithTheirPortsCleared) {
  auto t = make_table(base_config());
  CounterBlock c;
  EXPECT_EQ(create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), kT0, c).outside_port, 25000);
  // Many changes, each followed by the two passes: never runs out of slots.
  uint64_t now = kT0;
  for (int i = 0; i < 20; ++i) {
    Address a = kNew;
    a.b[15] = static_cast<uint8_t>(0x10 + i);
    ASSERT_EQ(t->set_outside({a}, {}), "") << i;
    t->remove_stale(now += 10, c);
    t->remove_stale(now += 10, c);
    // The inside port is free on every new address: kept as the outside port (no quarantine carried over).
    Nat66Binding b = create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), now, c);
    EXPECT_EQ(b.outside, a);
    EXPECT_EQ(b.outside_port, 25000) << i;
  }
  // Without the passes, the spare slots run out: refused, nothing changed.
  std::string error;
  for (int i = 0; i < 10 && error.empty(); ++i) {
    Address a = kThird;
    a.b[15] = static_cast<uint8_t>(i);
    error = t->set_outside({a}, {});
  }
  EXPECT_NE(error.find("no free slot"), std::string::npos) << error;
  EXPECT_EQ(t->outside_in_use().size(), 1u);
}

// An address that went and comes back before the passes ran (an interface bounced): its slot is taken back, so
// its mappings live on and the address is never in two slots (whose separate port arrays could give one outside
// port to two mappings).
TEST(Nat66Outside, AnAddressBackBeforeThePassesKeepsItsSlotAndMappings) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding old = create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), kT0, c);
  ASSERT_EQ(t->set_outside({kNew}, {}), "");
  EXPECT_EQ(t->outside_index(kOutside), -1);
  ASSERT_EQ(t->set_outside({kOutside}, {}), "");
  EXPECT_EQ(t->remove_stale(kT0 + 10, c), 0u) << "the slot of kNew had no mapping; kOutside's was revived";
  EXPECT_EQ(t->remove_stale(kT0 + 20, c), 0u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_address_gone), 0u);
  Nat66Binding b;
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, kOutside, old.outside_port, kT0 + 20, b, &kRemote), Nat66Lookup::found);
  // The same inside port of another host cannot take the revived address's port: one port array for it.
  EXPECT_NE(create_ok(*t, udp_flow(kContainer2, old.outside_port, kRemote, 53), kT0 + 21, c).outside_port, old.outside_port);
}

TEST(Nat66Outside, RefusedAddressesLeaveThePoolAsItWas) {
  auto t = make_table(base_config());
  EXPECT_NE(t->set_outside({addr("fd5a:ceb9:ed8d:1::99")}, {}).find("lies inside the source prefix"), std::string::npos);
  EXPECT_NE(t->set_outside({kNew, kNew}, {}).find("listed twice"), std::string::npos);
  EXPECT_NE(t->set_outside({addr("fe80::1")}, {}).find("link-local"), std::string::npos);
  EXPECT_EQ(t->outside_in_use(), std::vector<Address>{kOutside});
  // A source change is checked against the addresses in force now, not the first ones.
  ASSERT_EQ(t->set_outside({kNew}, {}), "");
  EXPECT_NE(t->set_sources({prefix("fd5a:ceb9:ed8d:fe0a::1:0/112")}).find("lies inside"), std::string::npos);
}

}  // namespace
}  // namespace npt66::test
