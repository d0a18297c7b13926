// NAT66 masquerade table: allocation, endpoint-independent mapping, filtering, timers, limits, quarantine,
// events and snapshots, driven through the table's primitives with a controlled clock.
#include <gtest/gtest.h>

#include <set>

#include "nat66_packets.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;  // an arbitrary start on the caller's clock (ms)
constexpr size_t kAll = 1u << 20;    // expire() budget large enough to finish in one call

// --- allocation ---

TEST(Nat66Allocation, PreservesAFreePortInTheRange) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding b = create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), kT0, c);
  EXPECT_EQ(b.outside, kOutside);
  EXPECT_EQ(b.outside_port, 25000);
  EXPECT_EQ(b.inside, kContainer);
  EXPECT_EQ(b.inside_port, 25000);
  EXPECT_EQ(c.get(Counter::nat66_mapping_created), 1u);
}

TEST(Nat66Allocation, CollisionMovesToAnotherPortInTheRange) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding a = create_ok(*t, udp_flow(kContainer, 25000, kRemote, 53), kT0, c);
  Nat66Binding b = create_ok(*t, udp_flow(kContainer2, 25000, kRemote, 53), kT0, c);
  EXPECT_EQ(a.outside_port, 25000);
  EXPECT_NE(b.outside_port, 25000);
  EXPECT_GE(b.outside_port, 20000);
  EXPECT_LE(b.outside_port, 29999);
  // Another protocol has its own ports: TCP 25000 is still free.
  Nat66Binding tcp = create_ok(*t, tcp_flow(kContainer2, 25000, kRemote, 80, tcpflag::kSyn), kT0, c);
  EXPECT_EQ(tcp.outside_port, 25000);
}

TEST(Nat66Allocation, PrivilegedPortsStayBelow1024) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding a = create_ok(*t, udp_flow(kContainer, 123, kRemote, 123), kT0, c);
  EXPECT_EQ(a.outside_port, 123);
  for (int i = 0; i < 50; ++i) {
    Address host = kContainer2;
    host.b[15] = static_cast<uint8_t>(10 + i);
    Nat66Binding b = create_ok(*t, udp_flow(host, 123, kRemote, 123), kT0, c);
    EXPECT_NE(b.outside_port, 123);
    EXPECT_GE(b.outside_port, 1);
    EXPECT_LT(b.outside_port, 1024);
  }
}

// The default (as the schema's masquerade[].privilegedPorts: false): replies to 1..1023 are not queued, so a
// port below 1024 takes one from the range like any other.
TEST(Nat66Allocation, ByDefaultPortsBelow1024AreMappedIntoTheRange) {
  Nat66Config cfg = base_config();
  cfg.keep_privileged_ports = Nat66Config{}.keep_privileged_ports;
  EXPECT_FALSE(cfg.keep_privileged_ports);
  auto t = make_table(cfg);
  CounterBlock c;
  Nat66Binding a = create_ok(*t, udp_flow(kContainer, 123, kRemote, 123), kT0, c);
  EXPECT_GE(a.outside_port, cfg.port_min);
  EXPECT_LE(a.outside_port, cfg.port_max);
}

TEST(Nat66Allocation, PortsOutsideTheRangeAreMappedIntoIt) {
  auto t = make_table(base_config());
  CounterBlock c;
  // 45000 is in Linux's ephemeral range (the host's own sockets): never preserved.
  Nat66Binding b = create_ok(*t, udp_flow(kContainer, 45000, kRemote, 53), kT0, c);
  EXPECT_GE(b.outside_port, 20000);
  EXPECT_LE(b.outside_port, 29999);
  Nat66Binding e = create_ok(*t, icmp_flow(kContainer, 7, kRemote), kT0, c);
  EXPECT_GE(e.outside_port, 20000);
  EXPECT_LE(e.outside_port, 29999);
  Nat66Binding kept = create_ok(*t, icmp_flow(kContainer, 21000, kRemote), kT0, c);
  EXPECT_EQ(kept.outside_port, 21000);
}

TEST(Nat66Allocation, SearchStartsAtARandomOffsetWithinTheRange) {
  std::set<uint16_t> firsts;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Nat66Config cfg = base_config();
    cfg.seed = seed;
    auto t = make_table(cfg);
    CounterBlock c;
    Nat66Binding b = create_ok(*t, udp_flow(kContainer, 50000, kRemote, 53), kT0, c);
    EXPECT_GE(b.outside_port, 20000);
    EXPECT_LE(b.outside_port, 29999);
    firsts.insert(b.outside_port);
  }
  // A scan from port_min would give 20000 every time.
  EXPECT_GE(firsts.size(), 15u);
}

TEST(Nat66Allocation, PairedPoolingKeepsOneOutsideAddressPerHost) {
  Nat66Config cfg = base_config();
  cfg.outside = {addr("2001:db8:1::1"), addr("2001:db8:1::2"), addr("2001:db8:1::3")};
  auto t = make_table(cfg);
  CounterBlock c;
  std::set<std::string> used;
  for (int host = 1; host <= 30; ++host) {
    Address in = kContainer;
    in.b[15] = static_cast<uint8_t>(host);
    Nat66Binding first = create_ok(*t, udp_flow(in, 30000, kRemote, 53), kT0, c);
    for (uint16_t port = 30001; port < 30010; ++port)
      EXPECT_EQ(create_ok(*t, tcp_flow(in, port, kRemote2, 443, tcpflag::kSyn), kT0, c).outside, first.outside);
    EXPECT_GE(t->outside_index(first.outside), 0);
    used.insert(str(first.outside));
  }
  EXPECT_EQ(used.size(), 3u);  // 30 hosts spread over the pool
}

// --- endpoint-independent mapping ---

TEST(Nat66Mapping, SameInsideEndpointKeepsItsOutsidePortWhateverTheRemote) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding a = create_ok(*t, udp_flow(kContainer, 40000, kRemote, 53), kT0, c);
  Nat66Binding b = create_ok(*t, udp_flow(kContainer, 40000, kRemote2, 53), kT0 + 10, c);
  Nat66Binding d = create_ok(*t, udp_flow(kContainer, 40000, kRouter, 9999), kT0 + 20, c);
  EXPECT_EQ(a.outside_port, b.outside_port);
  EXPECT_EQ(a.outside_port, d.outside_port);
  EXPECT_EQ(a.handle, d.handle);
  EXPECT_EQ(t->counts().udp, 1u);
  EXPECT_EQ(c.get(Counter::nat66_mapping_created), 1u);
  // Both lookups agree.
  Nat66Binding in, out;
  ASSERT_EQ(t->find_inside(Nat66Proto::udp, kContainer, 40000, kT0 + 30, in), Nat66Lookup::found);
  ASSERT_EQ(t->find_outside(Nat66Proto::udp, kOutside, a.outside_port, kT0 + 30, out), Nat66Lookup::found);
  EXPECT_EQ(in.outside_port, a.outside_port);
  EXPECT_EQ(out.inside, kContainer);
  EXPECT_EQ(out.inside_port, 40000);
}

// --- filtering ---

TEST(Nat66Filtering, AddressDependentAcceptsOnlyRemotesTheInsideSentTo) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow f = udp_flow(kContainer, 40000, kRemote, 53);
  Nat66Binding b = create_ok(*t, f, kT0, c), got;
  Nat66Flow reply = reply_to(f, b);
  EXPECT_EQ(t->inbound(reply, kT0 + 1, got, c), Nat66Lookup::found);
  EXPECT_EQ(got.inside, kContainer);
  EXPECT_EQ(got.inside_port, 40000);
  reply.sport = 5353;  // another port of the same address: allowed (address-dependent, not port-dependent)
  EXPECT_EQ(t->inbound(reply, kT0 + 2, got, c), Nat66Lookup::found);
  reply.src = kRemote2;
  EXPECT_EQ(t->inbound(reply, kT0 + 3, got, c), Nat66Lookup::filtered);
  create_ok(*t, udp_flow(kContainer, 40000, kRemote2, 53), kT0 + 4, c);
  EXPECT_EQ(t->inbound(reply, kT0 + 5, got, c), Nat66Lookup::found);
}

// (Every remote is remembered, each with its own lifetime: test/native/nat66_remotes_test.cc.)

TEST(Nat66Filtering, EndpointIndependentAcceptsAnyRemote) {
  Nat66Config cfg = base_config();
  cfg.filtering = Nat66Filtering::endpoint_independent;
  auto t = make_table(cfg);
  CounterBlock c;
  Nat66Flow f = udp_flow(kContainer, 40000, kRemote, 53);
  Nat66Binding b = create_ok(*t, f, kT0, c), got;
  Nat66Flow reply = reply_to(f, b);
  reply.src = kRemote2;
  EXPECT_EQ(t->inbound(reply, kT0 + 1, got, c), Nat66Lookup::found);
  EXPECT_EQ(got.inside, kContainer);
  // Still nothing reaches a port without a mapping.
  reply.dport = static_cast<uint16_t>(b.outside_port + 1);
  EXPECT_EQ(t->inbound(reply, kT0 + 2, got, c), Nat66Lookup::absent);
}

// --- timers ---

struct ExpiryCase {
  const char* name;
  Nat66Flow flow;
  uint64_t timeout;
};

TEST(Nat66Expiry, EachProtocolLivesExactlyItsTimeout) {
  Nat66Timeouts d;
  std::vector<ExpiryCase> cases = {
      {"udp", udp_flow(kContainer, 40000, kRemote, 53), d.udp_ms},
      {"icmp", icmp_flow(kContainer, 21000, kRemote), d.icmp_ms},
      {"tcp syn only", tcp_flow(kContainer, 40001, kRemote, 443, tcpflag::kSyn), d.tcp_transitory_ms},
  };
  for (const ExpiryCase& k : cases) {
    SCOPED_TRACE(k.name);
    auto t = make_table(base_config());
    CounterBlock c;
    Nat66Binding b = create_ok(*t, k.flow, kT0, c), got;
    EXPECT_EQ(t->counts().total(), 1u);
    // Housekeeping along the way removes nothing before the deadline.
    for (uint64_t at = kT0; at < kT0 + k.timeout; at += 7'000) EXPECT_EQ(t->expire(at, kAll, c), 0u);
    EXPECT_EQ(t->find_outside(k.flow.proto, kOutside, b.outside_port, kT0 + k.timeout - 1, got), Nat66Lookup::found);
    // At the deadline it stops matching, and within two seconds it is reaped.
    EXPECT_EQ(t->find_outside(k.flow.proto, kOutside, b.outside_port, kT0 + k.timeout, got), Nat66Lookup::absent);
    EXPECT_EQ(t->expire(kT0 + k.timeout + 2'000, kAll, c), 1u);
    EXPECT_EQ(t->counts().total(), 0u);
    EXPECT_EQ(t->find_inside(k.flow.proto, kContainer, k.flow.sport, kT0 + k.timeout + 2'000, got),
              Nat66Lookup::absent);
    EXPECT_EQ(c.get(Counter::nat66_mapping_expired), 1u);
  }
}

TEST(Nat66Expiry, OutboundRefreshesAndErrorsLookupsDoNot) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow f = udp_flow(kContainer, 40000, kRemote, 53);
  Nat66Binding b = create_ok(*t, f, kT0, c), got;
  create_ok(*t, f, kT0 + 200'000, c);  // refresh: now lives until kT0 + 500 s
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, kOutside, b.outside_port, kT0 + 450'000, got), Nat66Lookup::found);
  EXPECT_EQ(t->expire(kT0 + 302'000, kAll, c), 0u);
  EXPECT_EQ(t->expire(kT0 + 499'000, kAll, c), 0u);
  EXPECT_EQ(t->expire(kT0 + 502'000, kAll, c), 1u);
}

TEST(Nat66Expiry, InboundRefreshIsConfigurable) {
  for (bool refresh : {true, false}) {
    SCOPED_TRACE(refresh);
    Nat66Config cfg = base_config();
    cfg.inbound_refresh = refresh;
    auto t = make_table(cfg);
    CounterBlock c;
    Nat66Flow f = udp_flow(kContainer, 40000, kRemote, 53);
    Nat66Binding b = create_ok(*t, f, kT0, c), got;
    ASSERT_EQ(t->inbound(reply_to(f, b), kT0 + 200'000, got, c), Nat66Lookup::found);
    EXPECT_EQ(t->expire(kT0 + 302'000, kAll, c), refresh ? 0u : 1u);
  }
}

TEST(Nat66Expiry, TcpStateFollowsSynFinRst) {
  Nat66Timeouts d;
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow syn = tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kSyn);
  Nat66Binding b = create_ok(*t, syn, kT0, c), got;
  EXPECT_EQ(t->counts().tcp_transitory, 1u);
  EXPECT_EQ(t->counts().tcp_established, 0u);

  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kSyn | tcpflag::kAck), kT0 + 10, got, c), Nat66Lookup::found);
  EXPECT_EQ(t->counts().tcp_established, 1u);
  EXPECT_EQ(t->counts().tcp_transitory, 0u);
  Nat66Flow ack = syn;
  ack.tcp_flags = tcpflag::kAck;
  create_ok(*t, ack, kT0 + 20, c);
  // Established: the transitory timer no longer applies.
  EXPECT_EQ(t->expire(kT0 + 20 + d.tcp_transitory_ms + 5'000, kAll, c), 0u);
  EXPECT_EQ(t->counts().tcp_established, 1u);

  // FIN out, then FIN in: transitory again, 4 min from the last packet.
  const uint64_t t1 = kT0 + 3'600'000;
  Nat66Flow fin = syn;
  fin.tcp_flags = tcpflag::kFin | tcpflag::kAck;
  create_ok(*t, fin, t1, c);
  EXPECT_EQ(t->counts().tcp_established, 1u);  // one FIN is a half-close
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kFin | tcpflag::kAck), t1 + 10, got, c), Nat66Lookup::found);
  EXPECT_EQ(t->counts().tcp_transitory, 1u);
  EXPECT_EQ(t->counts().tcp_established, 0u);
  EXPECT_EQ(t->expire(t1 + 10 + d.tcp_transitory_ms - 1'000, kAll, c), 0u);
  EXPECT_EQ(t->expire(t1 + 10 + d.tcp_transitory_ms + 2'000, kAll, c), 1u);
  EXPECT_EQ(t->counts().total(), 0u);
}

TEST(Nat66Expiry, EstablishedTcpLivesTwoHoursFourMinutesAndRstShortensIt) {
  Nat66Timeouts d;
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow syn = tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kSyn);
  Nat66Binding b = create_ok(*t, syn, kT0, c), got;
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kSyn | tcpflag::kAck), kT0, got, c), Nat66Lookup::found);
  // Established, idle: survives (with housekeeping every minute) until 2 h 4 min, reaped right after.
  for (uint64_t at = kT0; at < kT0 + d.tcp_established_ms; at += 60'000) ASSERT_EQ(t->expire(at, kAll, c), 0u);
  EXPECT_EQ(t->expire(kT0 + d.tcp_established_ms + 2'000, kAll, c), 1u);

  // A second connection: RST in moves it to transitory even though its 2 h bucket is far away.
  const uint64_t t1 = kT0 + 10'000'000;
  b = create_ok(*t, syn, t1, c);
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kSyn | tcpflag::kAck), t1, got, c), Nat66Lookup::found);
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kRst), t1 + 1'000, got, c), Nat66Lookup::found);
  EXPECT_EQ(t->counts().tcp_transitory, 1u);
  EXPECT_EQ(t->expire(t1 + 1'000 + d.tcp_transitory_ms + 2'000, kAll, c), 1u);
}

TEST(Nat66Expiry, ExpiryIsIncrementalWithinItsBudget) {
  auto t = make_table(base_config());
  CounterBlock c;
  for (uint16_t p = 0; p < 1000; ++p) create_ok(*t, udp_flow(kContainer, static_cast<uint16_t>(30000 + p), kRemote, 53), kT0, c);
  const uint64_t later = kT0 + 400'000;
  size_t total = 0, calls = 0;
  while (size_t n = t->expire(later, 100, c)) {
    EXPECT_LE(n, 100u);
    total += n;
    ++calls;
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_GE(calls, 10u);
  EXPECT_EQ(t->counts().total(), 0u);
}

// --- limits (RFC 6888) ---

TEST(Nat66Limits, FullTableRefusesNewFlowsAndKeepsOldOnes) {
  Nat66Config cfg = base_config();
  cfg.max_mappings = 3;
  auto t = make_table(cfg);
  CounterBlock c;
  for (uint16_t p = 0; p < 3; ++p) create_ok(*t, udp_flow(kContainer, static_cast<uint16_t>(21000 + p), kRemote, 53), kT0, c);
  Nat66Binding b;
  EXPECT_EQ(t->outbound(udp_flow(kContainer, 21003, kRemote, 53), kT0, b, c), Counter::drop_nat66_table_full);
  EXPECT_EQ(t->outbound(tcp_flow(kContainer2, 21003, kRemote, 53, tcpflag::kSyn), kT0, b, c),
            Counter::drop_nat66_table_full);
  // Live mappings are never evicted and keep working both ways.
  EXPECT_EQ(t->outbound(udp_flow(kContainer, 21001, kRemote2, 53), kT0 + 1, b, c), Counter::count_);
  EXPECT_EQ(b.outside_port, 21001);
  Nat66Binding got;
  EXPECT_EQ(t->inbound(reply_to(udp_flow(kContainer, 21001, kRemote2, 53), b), kT0 + 2, got, c), Nat66Lookup::found);
  EXPECT_EQ(t->counts().total(), 3u);
  // Once they expire there is room again.
  t->expire(kT0 + 400'000, kAll, c);
  EXPECT_EQ(t->outbound(udp_flow(kContainer, 21003, kRemote, 53), kT0 + 400'000, b, c), Counter::count_);
}

TEST(Nat66Limits, PerSlash64LimitRefusesOnlyThatSubnet) {
  Nat66Config cfg = base_config();
  cfg.inside = {prefix("fd5a:ceb9:ed8d::/56")};  // /64s 1 and 2, not the outside address
  cfg.max_per_64 = 2;
  auto t = make_table(cfg);
  CounterBlock c;
  Address other64 = addr("fd5a:ceb9:ed8d:2::9");
  create_ok(*t, udp_flow(kContainer, 21000, kRemote, 53), kT0, c);
  create_ok(*t, tcp_flow(kContainer2, 21000, kRemote, 80, tcpflag::kSyn), kT0, c);
  EXPECT_EQ(t->mappings_in_64(kContainer), 2u);
  Nat66Binding b;
  // Another host address in the same /64 counts against the same limit (RFC 6888 REQ-4 for IPv6).
  EXPECT_EQ(t->outbound(udp_flow(addr("fd5a:ceb9:ed8d:1::77"), 21000, kRemote, 53), kT0, b, c),
            Counter::drop_nat66_host_limit);
  EXPECT_EQ(t->outbound(udp_flow(other64, 21000, kRemote, 53), kT0, b, c), Counter::count_);
  // The existing ones keep working.
  EXPECT_EQ(t->outbound(udp_flow(kContainer, 21000, kRemote2, 53), kT0 + 1, b, c), Counter::count_);
  EXPECT_EQ(t->counts().total(), 3u);
}

// RFC 6888 REQ-4 with the defaults: one host taking all it may leaves ports and echo ids for the others.
TEST(Nat66Limits, DefaultPerHostLimitLeavesPortsAndEchoIdsForOtherHosts) {
  Nat66Config cfg = base_config();
  cfg.inside = {prefix("fd5a:ceb9:ed8d::/56")};
  const Nat66Config defaults;
  const uint32_t range = defaults.port_max - defaults.port_min + 1;
  ASSERT_LE(defaults.max_per_64, range / 4) << "the default per-/64 limit must stay well below the port range";
  auto t = make_table(cfg);
  CounterBlock c;
  // The greedy host spreads its mappings over UDP, TCP and echo, each inside port mapped into the range.
  uint32_t made = 0;
  for (uint32_t i = 0; made < defaults.max_per_64; ++i, ++made) {
    const uint16_t port = static_cast<uint16_t>(40000 + i / 3);
    Nat66Flow f = i % 3 == 0   ? udp_flow(kContainer, port, kRemote, 53)
                  : i % 3 == 1 ? tcp_flow(kContainer, port, kRemote, 443, tcpflag::kSyn)
                               : icmp_flow(kContainer, port, kRemote);
    Nat66Binding b;
    ASSERT_EQ(t->outbound(f, kT0, b, c), Counter::count_) << "mapping " << i;
  }
  EXPECT_EQ(t->mappings_in_64(kContainer), defaults.max_per_64);
  Nat66Binding b;
  EXPECT_EQ(t->outbound(udp_flow(kContainer, 50000, kRemote, 53), kT0, b, c), Counter::drop_nat66_host_limit);
  EXPECT_EQ(t->outbound(icmp_flow(kContainer2, 50000, kRemote), kT0, b, c), Counter::drop_nat66_host_limit)
      << "another address of the same /64 shares its limit";
  // A host of another /64 still gets a port, a TCP port and an echo id, each in the range.
  const Address other = addr("fd5a:ceb9:ed8d:2::9");
  for (const Nat66Flow& f : {udp_flow(other, 40000, kRemote, 53), tcp_flow(other, 40000, kRemote, 443, tcpflag::kSyn),
                             icmp_flow(other, 40000, kRemote)}) {
    ASSERT_EQ(t->outbound(f, kT0, b, c), Counter::count_) << static_cast<int>(f.proto);
    EXPECT_GE(b.outside_port, defaults.port_min);
    EXPECT_LE(b.outside_port, defaults.port_max);
  }
  EXPECT_EQ(c.get(Counter::drop_nat66_ports_exhausted), 0u);
}

TEST(Nat66Limits, ExhaustedPortRangeRefusesNewFlows) {
  Nat66Config cfg = base_config();
  cfg.port_min = 20000;
  cfg.port_max = 20003;
  auto t = make_table(cfg);
  CounterBlock c;
  std::set<uint16_t> ports;
  for (int h = 1; h <= 4; ++h) {
    Address in = kContainer;
    in.b[15] = static_cast<uint8_t>(h);
    ports.insert(create_ok(*t, udp_flow(in, 50000, kRemote, 53), kT0, c).outside_port);
  }
  EXPECT_EQ(ports, (std::set<uint16_t>{20000, 20001, 20002, 20003}));
  Nat66Binding b;
  EXPECT_EQ(t->outbound(udp_flow(kContainer, 50001, kRemote, 53), kT0, b, c), Counter::drop_nat66_ports_exhausted);
  EXPECT_EQ(t->counts().total(), 4u);
}

TEST(Nat66Limits, FreedPortRestsFor120Seconds) {
  Nat66Config cfg = base_config();
  cfg.port_min = cfg.port_max = 20000;
  auto t = make_table(cfg);
  CounterBlock c;
  Nat66Binding b = create_ok(*t, udp_flow(kContainer, 50000, kRemote, 53), kT0, c);
  EXPECT_EQ(b.outside_port, 20000);
  const uint64_t freed = kT0 + 302'000;
  ASSERT_EQ(t->expire(freed, kAll, c), 1u);
  for (uint64_t after : {0ull, 1'000ull, 60'000ull, 119'999ull}) {
    EXPECT_EQ(t->outbound(udp_flow(kContainer2, 50000, kRemote, 53), freed + after, b, c),
              Counter::drop_nat66_ports_exhausted)
        << after;
  }
  EXPECT_EQ(t->outbound(udp_flow(kContainer2, 50000, kRemote, 53), freed + 121'000, b, c), Counter::count_);
  EXPECT_EQ(b.outside_port, 20000);
  // The same rule for a privileged port: another host does not get 123 right after it was freed.
  const uint64_t t2 = freed + 121'000;
  EXPECT_EQ(create_ok(*t, udp_flow(kContainer, 123, kRemote, 123), t2, c).outside_port, 123);
  ASSERT_EQ(t->expire(t2 + 302'000, kAll, c), 2u);
  b = create_ok(*t, udp_flow(kContainer2, 123, kRemote, 123), t2 + 302'000, c);
  EXPECT_NE(b.outside_port, 123);
  EXPECT_LT(b.outside_port, 1024);
}

// --- events, snapshot, counts ---

TEST(Nat66Events, NewUpdateDestroyWithTheMappingsFigures) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow syn = tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kSyn);
  Nat66Binding b = create_ok(*t, syn, kT0, c), got;
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kSyn | tcpflag::kAck), kT0 + 5, got, c), Nat66Lookup::found);
  Nat66Flow rst = syn;
  rst.tcp_flags = tcpflag::kRst;
  create_ok(*t, rst, kT0 + 9, c);
  ASSERT_EQ(t->expire(kT0 + 9 + 242'000, kAll, c), 1u);

  std::vector<Nat66MappingEvent> ev;
  ASSERT_EQ(t->drain_events(ev), 4u);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].type, Nat66EventType::created);
  EXPECT_EQ(ev[0].time_ms, kT0);
  EXPECT_EQ(ev[0].mapping.proto, Nat66Proto::tcp);
  EXPECT_EQ(ev[0].mapping.inside, kContainer);
  EXPECT_EQ(ev[0].mapping.inside_port, 40000);
  EXPECT_EQ(ev[0].mapping.outside, kOutside);
  EXPECT_EQ(ev[0].mapping.outside_port, b.outside_port);
  EXPECT_EQ(ev[0].mapping.remote, kRemote);
  EXPECT_EQ(ev[0].mapping.remote_port, 443);
  EXPECT_EQ(ev[0].mapping.packets_out, 1u);
  EXPECT_EQ(ev[1].type, Nat66EventType::updated);
  EXPECT_EQ(ev[1].mapping.state, Nat66State::tcp_established);
  EXPECT_EQ(ev[1].mapping.packets_in, 1u);
  EXPECT_EQ(ev[2].type, Nat66EventType::updated);
  EXPECT_EQ(ev[2].mapping.state, Nat66State::tcp_transitory);
  EXPECT_EQ(ev[3].type, Nat66EventType::destroyed);
  EXPECT_EQ(ev[3].mapping.packets_out, 2u);
  EXPECT_EQ(ev[3].mapping.packets_in, 1u);
  EXPECT_EQ(ev[3].mapping.bytes_out, 200u);
  EXPECT_EQ(ev[3].mapping.created_ms, kT0);
  EXPECT_EQ(ev[3].mapping.last_ms, kT0 + 9);
  EXPECT_EQ(std::string(to_string(ev[3].type)), "DESTROY");
  ev.clear();
  EXPECT_EQ(t->drain_events(ev), 0u);
}

TEST(Nat66Events, OverflowIsCountedNotBlocking) {
  Nat66Config cfg = base_config();
  cfg.event_capacity = 2;
  auto t = make_table(cfg);
  CounterBlock c;
  for (uint16_t p = 0; p < 5; ++p) create_ok(*t, udp_flow(kContainer, static_cast<uint16_t>(21000 + p), kRemote, 53), kT0, c);
  EXPECT_EQ(c.get(Counter::nat66_event_overflow), 3u);
  std::vector<Nat66MappingEvent> ev;
  EXPECT_EQ(t->drain_events(ev), 2u);
  create_ok(*t, udp_flow(kContainer, 22000, kRemote, 53), kT0, c);  // room again after the drain
  EXPECT_EQ(t->drain_events(ev), 1u);
  EXPECT_EQ(ev.size(), 3u);
}

TEST(Nat66Snapshot, ListsEveryLiveMappingAndCountsByState) {
  auto t = make_table(base_config());
  CounterBlock c;
  create_ok(*t, udp_flow(kContainer, 21000, kRemote, 53), kT0, c);
  create_ok(*t, icmp_flow(kContainer, 21001, kRemote), kT0, c);
  Nat66Flow syn = tcp_flow(kContainer2, 21002, kRemote2, 443, tcpflag::kSyn);
  Nat66Binding b = create_ok(*t, syn, kT0, c), got;
  create_ok(*t, tcp_flow(kContainer2, 21003, kRemote2, 443, tcpflag::kSyn), kT0, c);
  ASSERT_EQ(t->inbound(reply_to(syn, b, tcpflag::kSyn | tcpflag::kAck), kT0, got, c), Nat66Lookup::found);
  Nat66Counts n = t->counts();
  EXPECT_EQ(n.udp, 1u);
  EXPECT_EQ(n.icmp, 1u);
  EXPECT_EQ(n.tcp_established, 1u);
  EXPECT_EQ(n.tcp_transitory, 1u);
  std::vector<Nat66MappingRecord> rows;
  t->snapshot(rows);
  ASSERT_EQ(rows.size(), 4u);
  std::set<uint16_t> ports;
  for (const auto& r : rows) {
    ports.insert(r.outside_port);
    EXPECT_EQ(r.outside_port, r.inside_port);  // all preserved here
    EXPECT_EQ(r.expires_ms, r.created_ms + (r.state == Nat66State::udp               ? 300'000u
                                            : r.state == Nat66State::icmp            ? 60'000u
                                            : r.state == Nat66State::tcp_transitory ? 240'000u
                                                                                     : 7'440'000u));
  }
  EXPECT_EQ(ports, (std::set<uint16_t>{21000, 21001, 21002, 21003}));
}

TEST(Nat66Config, ValidationNamesTheProblem) {
  Nat66Config c = base_config();
  EXPECT_EQ(validate(c), "");
  c.timeouts.udp_ms = 119'999;
  EXPECT_NE(validate(c).find("2 minutes"), std::string::npos);
  c = base_config();
  c.port_min = 500;
  EXPECT_NE(validate(c).find("port range"), std::string::npos);
  c = base_config();
  c.outside = {addr("fd5a:ceb9:ed8d:1::1")};
  EXPECT_NE(validate(c).find("inside the source prefix"), std::string::npos);
  c = base_config();
  c.inside = {prefix("fd5a:ceb9:ed8d:1::1/64")};
  EXPECT_NE(validate(c).find("bits set"), std::string::npos);
  c = base_config();
  c.outside = {addr("fe80::1")};
  EXPECT_NE(validate(c).find("link-local"), std::string::npos);
  std::string error;
  EXPECT_EQ(Nat66Table::create(c, error), nullptr);
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace npt66::test
