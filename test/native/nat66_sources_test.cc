// A masquerade table's source prefixes changed while it runs (Nat66Table::set_sources): what is masqueraded
// from then on, what becomes of the mappings of a source that went, and the batch's own snapshot of the set.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dispatch.h"
#include "nat66_packets.h"
#include "nat66_translate.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;
const Address kOther = addr("fd5a:ceb9:ed8d:2::2");  // a host of a second network (a second Docker bridge)

Nat66Config two_sources() {
  Nat66Config c = base_config();
  c.inside = {prefix("fd5a:ceb9:ed8d:1::/64"), prefix("fd5a:ceb9:ed8d:2::/64")};
  return c;
}

TEST(Nat66Sources, RemovedSourceLosesItsMappingsTheOthersKeepTheirs) {
  auto t = make_table(two_sources());
  CounterBlock c;
  Nat66Binding kept = create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), kT0, c);
  create_ok(*t, udp_flow(kOther, 25001, kRemote, 53), kT0, c);
  create_ok(*t, tcp_flow(kOther, 40000, kRemote, 443, tcpflag::kSyn), kT0, c);

  ASSERT_EQ(t->set_sources({prefix("fd5a:ceb9:ed8d:1::/64")}), "");
  EXPECT_TRUE(t->is_inside(kContainer));
  EXPECT_FALSE(t->is_inside(kOther));
  // Nothing is removed before the housekeeping pass.
  EXPECT_EQ(t->counts().total(), 3u);

  t->set_sources({prefix("fd5a:ceb9:ed8d:1::/64")});  // the same set again: still two passes, nothing more to remove
  std::vector<Nat66MappingEvent> events;
  t->drain_events(events);
  events.clear();
  EXPECT_EQ(t->remove_stale(kT0 + 10, c), 2u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_unsourced), 2u);
  EXPECT_EQ(t->counts().total(), 1u);
  t->drain_events(events);
  ASSERT_EQ(events.size(), 2u);
  for (const Nat66MappingEvent& e : events) {
    EXPECT_EQ(e.type, Nat66EventType::destroyed);
    EXPECT_EQ(e.mapping.inside, kOther);
  }

  // The remaining source's mapping is untouched: same outside port, still reachable from its remote.
  Nat66Binding b;
  ASSERT_EQ(t->find_inside(Nat66Proto::udp, kContainer, 25000, kT0 + 10, b), Nat66Lookup::found);
  EXPECT_EQ(b.outside_port, kept.outside_port);
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, kOutside, kept.outside_port, kT0 + 10, b, &kRemote), Nat66Lookup::found);

  // A second pass finds nothing; after it the check is one load (no pass due).
  EXPECT_EQ(t->remove_stale(kT0 + 20, c), 0u);
  create_ok(*t, udp_flow(kOther, 25002, kRemote, 53), kT0, c);  // a straggler made after both passes stays
  EXPECT_EQ(t->remove_stale(kT0 + 30, c), 0u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_unsourced), 2u);
}

TEST(Nat66Sources, RefusedSetLeavesTheSourcesAsTheyWere) {
  auto t = make_table(base_config());
  // The outside address lies inside the new prefix: replies would loop.
  std::string error = t->set_sources({prefix("fd5a:ceb9:ed8d:fe0a::/64")});
  EXPECT_NE(error.find("lies inside the source prefix"), std::string::npos) << error;
  EXPECT_TRUE(t->is_inside(kContainer));
  Prefix bad = prefix("fd5a:ceb9:ed8d:1::/64");
  bad.len = 48;  // host bits beyond the length
  EXPECT_NE(t->set_sources({bad}), "");
  EXPECT_TRUE(t->is_inside(kContainer));
  CounterBlock c;
  EXPECT_EQ(t->remove_stale(kT0, c), 0u);  // no pass was scheduled
}

TEST(Nat66Sources, EmptySetMasqueradesNothing) {
  Nat66Config none = base_config();
  none.inside.clear();  // "source": "docker" before Docker has an IPv6 network
  auto t = make_table(none);
  EXPECT_FALSE(t->is_inside(kContainer));
  CounterBlock c;
  Packet p = build_ipv6(kContainer, kRemote, udp(5000, 53, {1}));
  EXPECT_EQ(translate_nat66(*t, Direction::outbound, p.bytes.data(), p.bytes.size(), kT0, c).action, Action::not_ours);
  ASSERT_EQ(t->set_sources({prefix("fd5a:ceb9:ed8d:1::/64")}), "");
  EXPECT_EQ(translate_nat66(*t, Direction::outbound, p.bytes.data(), p.bytes.size(), kT0, c).action, Action::translated);
}

// The dispatch uses the set the batch took, not the table's current one: a swap never splits a batch.
TEST(Nat66Sources, DispatchUsesTheBatchSnapshot) {
  std::vector<std::unique_ptr<Nat66Table>> masquerade;
  masquerade.push_back(make_table(base_config()));
  Nat66SourcesPtr taken = masquerade[0]->sources();
  const Nat66Sources* view[] = {taken.get()};
  ASSERT_EQ(masquerade[0]->set_sources({prefix("fd5a:ceb9:ed8d:2::/64")}), "");
  CounterBlock c;

  Tables batch{nullptr, masquerade, kT0, {}, view};
  Packet p = build_ipv6(kContainer, kRemote, udp(5000, 53, {1}));
  EXPECT_EQ(dispatch(batch, Direction::outbound, Offload{}, p.bytes.data(), p.bytes.size(), c).verdict.action,
            Action::translated);

  Tables next{nullptr, masquerade, kT0, {}, {}};  // no snapshot: the current set, where kContainer is not
  Packet q = build_ipv6(kContainer, kRemote, udp(5001, 53, {1}));
  EXPECT_EQ(dispatch(next, Direction::outbound, Offload{}, q.bytes.data(), q.bytes.size(), c).verdict.action,
            Action::not_ours);
}

}  // namespace
}  // namespace npt66::test
