// NAT66 masquerade table: the tunables changed while running (Nat66Table::set_tunables, a reload). Every live
// mapping stays; new mappings take the new range; a refresh grants the new timeout; lowered limits refuse new
// flows and evict nothing; filtering and inbound refresh apply from the next inbound packet. A refused change
// changes nothing.
#include <gtest/gtest.h>

#include "nat66_packets.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;
constexpr size_t kAll = 1u << 20;

Counter send(Nat66Table& t, const Nat66Flow& f, uint64_t now, CounterBlock& c) {
  Nat66Binding b;
  return t.outbound(f, now, b, c);
}

Address host(int i) {
  Address a = kContainer;
  a.b[15] = static_cast<uint8_t>(16 + i);
  return a;
}

uint64_t deadline_of(const Nat66Table& t, uint64_t now) {
  std::vector<Nat66MappingRecord> all;
  t.snapshot(all, now);
  EXPECT_EQ(all.size(), 1u);
  return all.empty() ? 0 : all[0].expires_ms;
}

TEST(Nat66Tunables, RefusedLikeAtCreationAndNothingChanges) {
  Nat66Config cfg = base_config();
  cfg.forwards = {Nat66Forward{Nat66Proto::tcp, 8080, kContainer, 80}};
  auto t = make_table(cfg);
  const Nat66Tunables before = t->tunables();
  EXPECT_EQ(before.port_min, 20000);
  EXPECT_EQ(before.port_max, 29999);

  auto refused = [&](Nat66Tunables n, const char* why) {
    SCOPED_TRACE(why);
    std::string error = t->set_tunables(n);
    EXPECT_NE(error.find(why), std::string::npos) << error;
    EXPECT_EQ(error, validate_forwards(cfg.forwards, n.port_min, n.port_max, n.keep_privileged_ports).empty()
                         ? validate_tunables(n)
                         : error);  // the same words as at creation
    const Nat66Tunables now = t->tunables();
    EXPECT_EQ(now.port_min, before.port_min);
    EXPECT_EQ(now.port_max, before.port_max);
    EXPECT_EQ(now.timeouts.udp_ms, before.timeouts.udp_ms);
    EXPECT_EQ(now.max_mappings, before.max_mappings);
    EXPECT_EQ(now.keep_privileged_ports, before.keep_privileged_ports);
  };
  Nat66Tunables n = before;
  n.port_min = 1000;
  refused(n, "port range");
  n = before;
  n.port_min = 30000;
  n.port_max = 29999;
  refused(n, "port range");
  n = before;
  n.timeouts.udp_ms = 60'000;
  refused(n, "RFC 4787 REQ-5");
  n = before;
  n.max_mappings = 0;
  refused(n, "maxMappings");
  n = before;
  n.max_per_64 = 0;
  refused(n, "per-/64");
  n = before;
  n.max_remotes_per_mapping = 0;
  refused(n, "maxRemotesPerMapping");
  // The forward on 8080 may not fall into the new dynamic range.
  n = before;
  n.port_min = 8000;
  n.port_max = 9000;
  refused(n, "dynamic port range");
  // A forward below 1024 and privileged ports kept below 1024 cannot both be.
  ASSERT_EQ(t->set_tunables([&] {
    Nat66Tunables p = before;
    p.keep_privileged_ports = false;
    return p;
  }()),
            "");
  ASSERT_EQ(t->set_forwards({Nat66Forward{Nat66Proto::tcp, 80, kContainer, 80}}), "");
  n = t->tunables();
  n.keep_privileged_ports = true;
  EXPECT_NE(t->set_tunables(n).find("privilegedPorts"), std::string::npos);
  EXPECT_FALSE(t->tunables().keep_privileged_ports);
  // And the forwards are checked against the range in force.
  n.keep_privileged_ports = false;
  n.port_min = 40000;
  n.port_max = 40999;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_NE(t->set_forwards({Nat66Forward{Nat66Proto::tcp, 40080, kContainer, 80}}).find("dynamic port range"),
            std::string::npos);
  EXPECT_EQ(t->set_forwards({Nat66Forward{Nat66Proto::tcp, 25000, kContainer, 80}}), "");  // the old range: free now
}

TEST(Nat66Tunables, NewRangeForNewMappingsOldPortsLiveOnUntilTheyExpire) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow old_flow = udp_flow(kContainer, 25000, kRemote, 53);
  Nat66Binding old_b = create_ok(*t, old_flow, kT0, c), got;
  ASSERT_EQ(old_b.outside_port, 25000);
  EXPECT_TRUE(t->holds_ports(20000, 29999));
  EXPECT_FALSE(t->holds_ports(30000, 30999));

  Nat66Tunables n = t->tunables();
  n.port_min = 30000;
  n.port_max = 30999;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_FALSE(t->in_port_range(25000));
  EXPECT_TRUE(t->in_port_range(30000));
  // New flows, whatever their inside port, take a port of the new range.
  for (int i = 0; i < 20; ++i) {
    Nat66Binding b = create_ok(*t, udp_flow(host(i), static_cast<uint16_t>(25001 + i), kRemote, 53), kT0 + 1, c);
    EXPECT_GE(b.outside_port, 30000);
    EXPECT_LE(b.outside_port, 30999);
  }
  // The old mapping keeps its port both ways, refreshed as before.
  Nat66Binding again = create_ok(*t, old_flow, kT0 + 100'000, c);
  EXPECT_EQ(again.outside_port, 25000);
  EXPECT_EQ(t->inbound(reply_to(old_flow, old_b), kT0 + 100'001, got, c), Nat66Lookup::found);
  EXPECT_EQ(got.inside, kContainer);
  EXPECT_TRUE(t->holds_ports(20000, 29999));
  // A forward may now take a port of the old range, but not one a mapping still holds there (a forward wins
  // inbound: the mapping's replies would go to it).
  EXPECT_NE(t->set_forwards({Nat66Forward{Nat66Proto::udp, 25000, kContainer2, 80}}).find("held by a mapping"),
            std::string::npos);
  EXPECT_EQ(t->set_forwards({Nat66Forward{Nat66Proto::tcp, 25000, kContainer2, 80}}), "");  // TCP 25000 is free
  n.port_min = 31000;
  n.port_max = 31999;
  std::vector<Nat66Forward> held = {Nat66Forward{Nat66Proto::udp, 25000, kContainer2, 80}};
  EXPECT_NE(t->set_tunables(n, &held).find("held by a mapping"), std::string::npos);
  EXPECT_EQ(t->tunables().port_min, 30000);
  EXPECT_EQ(t->forwards()->size(), 1u);
  ASSERT_EQ(t->set_forwards({}), "");
  // Once it expires the old range holds nothing.
  t->expire(kT0 + 1'000'000, kAll, c);
  EXPECT_FALSE(t->holds_ports(20000, 29999));
  EXPECT_EQ(t->inbound(reply_to(old_flow, old_b), kT0 + 1'000'001, got, c), Nat66Lookup::absent);
}

TEST(Nat66Tunables, PrivilegedPortsTurnedOffMapNewOnesIntoTheRangeKeptOnesLiveOn) {
  auto t = make_table(base_config());  // keep_privileged_ports
  CounterBlock c;
  Nat66Flow ntp = udp_flow(kContainer, 123, kRemote, 123);
  Nat66Binding a = create_ok(*t, ntp, kT0, c), got;
  ASSERT_EQ(a.outside_port, 123);
  Nat66Tunables n = t->tunables();
  n.keep_privileged_ports = false;
  ASSERT_EQ(t->set_tunables(n), "");
  Nat66Binding b = create_ok(*t, udp_flow(kContainer2, 123, kRemote, 123), kT0 + 1, c);
  EXPECT_GE(b.outside_port, 20000);
  EXPECT_LE(b.outside_port, 29999);
  EXPECT_EQ(t->inbound(reply_to(ntp, a), kT0 + 2, got, c), Nat66Lookup::found);
}

TEST(Nat66Tunables, ARefreshGrantsTheNewTimeoutADeadlineGrantedStands) {
  auto t = make_table(base_config());  // UDP 300 s
  CounterBlock c;
  Nat66Flow f = udp_flow(kContainer, 40000, kRemote, 53);
  create_ok(*t, f, kT0, c);
  ASSERT_EQ(deadline_of(*t, kT0), kT0 + 300'000);

  Nat66Tunables n = t->tunables();
  n.timeouts.udp_ms = 600'000;  // raised: the next refresh grants it
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_EQ(deadline_of(*t, kT0 + 1), kT0 + 300'000);  // nothing changes before a refresh
  create_ok(*t, f, kT0 + 1'000, c);
  EXPECT_EQ(deadline_of(*t, kT0 + 1'000), kT0 + 601'000);

  n.timeouts.udp_ms = 120'000;  // lowered: the deadline granted stands, later refreshes grant 120 s
  ASSERT_EQ(t->set_tunables(n), "");
  create_ok(*t, f, kT0 + 2'000, c);
  EXPECT_EQ(deadline_of(*t, kT0 + 2'000), kT0 + 601'000);
  EXPECT_EQ(t->expire(kT0 + 300'000, kAll, c), 0u);
  create_ok(*t, f, kT0 + 550'000, c);
  EXPECT_EQ(deadline_of(*t, kT0 + 550'000), kT0 + 670'000);
  EXPECT_EQ(t->expire(kT0 + 669'000, kAll, c), 0u);
  EXPECT_EQ(t->expire(kT0 + 672'000, kAll, c), 1u);
}

TEST(Nat66Tunables, TcpEstablishedTimeoutAppliesFromTheNextSegment) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow syn = tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kSyn);
  Nat66Binding b = create_ok(*t, syn, kT0, c), got;
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kSyn | tcpflag::kAck), kT0 + 1, got, c), Nat66Lookup::found);
  Nat66Flow ack = tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kAck);
  create_ok(*t, ack, kT0 + 2, c);
  ASSERT_EQ(t->counts().tcp_established, 1u);
  ASSERT_EQ(deadline_of(*t, kT0 + 2), kT0 + 2 + Nat66Timeouts{}.tcp_established_ms);
  Nat66Tunables n = t->tunables();
  n.timeouts.tcp_established_ms = 10'000'000;
  ASSERT_EQ(t->set_tunables(n), "");
  create_ok(*t, ack, kT0 + 10, c);
  EXPECT_EQ(deadline_of(*t, kT0 + 10), kT0 + 10 + 10'000'000);
  // A new connection's first segments take the new transitory timeout.
  n.timeouts.tcp_transitory_ms = 30'000;
  ASSERT_EQ(t->set_tunables(n), "");
  Nat66Flow syn2 = tcp_flow(kContainer2, 40001, kRemote, 443, tcpflag::kSyn);
  create_ok(*t, syn2, kT0 + 20, c);
  Nat66Binding got2;
  EXPECT_EQ(t->find_inside(Nat66Proto::tcp, kContainer2, 40001, kT0 + 20 + 29'000, got2), Nat66Lookup::found);
  EXPECT_EQ(t->find_inside(Nat66Proto::tcp, kContainer2, 40001, kT0 + 20 + 30'000, got2), Nat66Lookup::absent);
}

TEST(Nat66Tunables, LoweredLimitsRefuseNewFlowsAndEvictNothing) {
  Nat66Config cfg = base_config();
  cfg.max_mappings = 10;
  cfg.inside = {prefix("fd5a:ceb9:ed8d::/56")};
  auto t = make_table(cfg);
  CounterBlock c;
  std::vector<std::pair<Nat66Flow, Nat66Binding>> made;
  for (int i = 0; i < 4; ++i) {
    Nat66Flow f = udp_flow(host(i), 40000, kRemote, 53);
    made.emplace_back(f, create_ok(*t, f, kT0, c));
  }
  // Table: 4 live, limit lowered to 3.
  Nat66Tunables n = t->tunables();
  n.max_mappings = 3;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_EQ(send(*t, udp_flow(host(9), 40000, kRemote, 53), kT0 + 1, c), Counter::drop_nat66_table_full);
  EXPECT_EQ(t->counts().udp, 4u);
  Nat66Binding got;
  for (auto& [f, b] : made) EXPECT_EQ(t->inbound(reply_to(f, b), kT0 + 2, got, c), Nat66Lookup::found);
  EXPECT_EQ(send(*t, made[0].first, kT0 + 3, c), Counter::count_);  // a live mapping still refreshes

  // Per /64: every host here shares one; 4 held, limit lowered to 2.
  n.max_mappings = 10;
  n.max_per_64 = 2;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_EQ(send(*t, udp_flow(host(9), 40000, kRemote, 53), kT0 + 4, c), Counter::drop_nat66_host_limit);
  EXPECT_EQ(send(*t, udp_flow(addr("fd5a:ceb9:ed8d:2::5"), 40000, kRemote, 53), kT0 + 4, c), Counter::count_);
  for (auto& [f, b] : made) EXPECT_EQ(t->inbound(reply_to(f, b), kT0 + 5, got, c), Nat66Lookup::found);

  // Remotes per mapping: made[1] talks to 3 remotes, limit lowered to 2.
  n.max_per_64 = 2000;
  ASSERT_EQ(t->set_tunables(n), "");
  Nat66Flow to2 = made[1].first, to3 = made[1].first;
  to2.dst = kRemote2;
  to3.dst = addr("2001:db8:99::3");
  EXPECT_EQ(send(*t, to2, kT0 + 6, c), Counter::count_);
  EXPECT_EQ(send(*t, to3, kT0 + 6, c), Counter::count_);
  n.max_remotes_per_mapping = 2;
  ASSERT_EQ(t->set_tunables(n), "");
  Nat66Flow to4 = made[1].first;
  to4.dst = addr("2001:db8:99::4");
  EXPECT_EQ(send(*t, to4, kT0 + 7, c), Counter::drop_nat66_remote_limit);
  for (const Nat66Flow& f : {made[1].first, to2, to3}) {
    EXPECT_EQ(send(*t, f, kT0 + 8, c), Counter::count_);  // the three it had stay
    EXPECT_EQ(t->inbound(reply_to(f, made[1].second), kT0 + 9, got, c), Nat66Lookup::found);
  }
  // Raised again: new flows are accepted.
  n.max_remotes_per_mapping = 1024;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_EQ(send(*t, to4, kT0 + 10, c), Counter::count_);
}

TEST(Nat66Tunables, FilteringAndInboundRefreshApplyToTheNextInboundPacket) {
  auto t = make_table(base_config());  // address-dependent, inbound refresh
  CounterBlock c;
  Nat66Flow f = udp_flow(kContainer, 40000, kRemote, 53);
  Nat66Binding b = create_ok(*t, f, kT0, c), got;
  Nat66Flow stranger = reply_to(f, b);
  stranger.src = kRemote2;
  EXPECT_EQ(t->inbound(stranger, kT0 + 1, got, c), Nat66Lookup::filtered);
  Nat66Tunables n = t->tunables();
  n.filtering = Nat66Filtering::endpoint_independent;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_EQ(t->inbound(stranger, kT0 + 2, got, c), Nat66Lookup::found);
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, kOutside, b.outside_port, kT0 + 2, got, &kRemote2), Nat66Lookup::found);
  n.filtering = Nat66Filtering::address_dependent;
  ASSERT_EQ(t->set_tunables(n), "");
  EXPECT_EQ(t->inbound(stranger, kT0 + 3, got, c), Nat66Lookup::filtered);

  // Inbound refresh off: a reply no longer moves the deadline (kT0 + 300 s).
  n.inbound_refresh = false;
  ASSERT_EQ(t->set_tunables(n), "");
  ASSERT_EQ(t->inbound(reply_to(f, b), kT0 + 200'000, got, c), Nat66Lookup::found);
  EXPECT_EQ(t->expire(kT0 + 302'000, kAll, c), 1u);
}

}  // namespace
}  // namespace npt66::test
