// A masquerade mapping's remotes (nat66_remotes.h): exact address-dependent filtering whatever the number of
// remotes (RFC 4787 REQ-8, RFC 5382 REQ-3), a lifetime per remote (REQ-6), and TCP state per connection
// (RFC 5382 s5, RFC 7857 s2.2). Driven through the table's primitives with a controlled clock; only the
// table's long-standing interface, so each of these also runs against the table from before remotes had
// lifetimes (where it fails).
#include <gtest/gtest.h>

#include <vector>

#include "nat66_packets.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;
constexpr size_t kAll = 1u << 20;

Address remote(int i) {
  Address a = addr("2001:db8:99::");
  a.b[13] = static_cast<uint8_t>(i >> 16);
  a.b[14] = static_cast<uint8_t>(i >> 8);
  a.b[15] = static_cast<uint8_t>(i);
  return a;
}

Nat66Binding send(Nat66Table& t, const Nat66Flow& f, uint64_t now, CounterBlock& c) {
  Nat66Binding b;
  EXPECT_EQ(t.outbound(f, now, b, c), Counter::count_);
  return b;
}

Nat66Lookup answer(Nat66Table& t, const Nat66Flow& sent, const Nat66Binding& b, uint64_t now, CounterBlock& c,
                   uint8_t flags = 0) {
  Nat66Binding got;
  return t.inbound(reply_to(sent, b, flags), now, got, c);
}

// --- growth past the inline slots ---

// One socket, many remotes (a resolver with several upstreams, a DHT node, WebRTC): every one it sent to may
// answer; an address it never sent to may not.
TEST(Nat66Remotes, EveryRemoteTheSocketSentToGetsInWhateverTheirNumber) {
  auto t = make_table(base_config());
  CounterBlock c;
  constexpr int kRemotes = 1000;
  Nat66Binding b;
  for (int i = 0; i < kRemotes; ++i) b = send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + i, c);
  for (int i = 0; i < kRemotes; ++i)
    ASSERT_EQ(answer(*t, udp_flow(kContainer, 40000, remote(i), 53), b, kT0 + 2000, c), Nat66Lookup::found) << i;
  for (int i = kRemotes; i < kRemotes + 50; ++i)
    EXPECT_EQ(answer(*t, udp_flow(kContainer, 40000, remote(i), 53), b, kT0 + 2000, c), Nat66Lookup::filtered) << i;
  // The pure lookup agrees.
  Nat66Binding got;
  Address first = remote(0), never = remote(5000);
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, b.outside, b.outside_port, kT0 + 2000, got, &first), Nat66Lookup::found);
  EXPECT_EQ(t->find_outside(Nat66Proto::udp, b.outside, b.outside_port, kT0 + 2000, got, &never),
            Nat66Lookup::filtered);
  EXPECT_EQ(t->counts().total(), 1u);  // still one mapping
}

TEST(Nat66Remotes, IcmpEchoAndTcpRememberEveryRemoteToo) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding echo, conn;
  for (int i = 0; i < 12; ++i) {
    echo = send(*t, icmp_flow(kContainer, 7, remote(i)), kT0, c);
    conn = send(*t, tcp_flow(kContainer, 40000, remote(i), 443, tcpflag::kSyn), kT0, c);
  }
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(answer(*t, icmp_flow(kContainer, 7, remote(i)), echo, kT0 + 1, c), Nat66Lookup::found) << i;
    EXPECT_EQ(answer(*t, tcp_flow(kContainer, 40000, remote(i), 443, 0), conn, kT0 + 1, c,
                     tcpflag::kSyn | tcpflag::kAck),
              Nat66Lookup::found)
        << i;
  }
  EXPECT_EQ(answer(*t, icmp_flow(kContainer, 7, remote(12)), echo, kT0 + 1, c), Nat66Lookup::filtered);
  EXPECT_EQ(answer(*t, tcp_flow(kContainer, 40000, remote(12), 443, 0), conn, kT0 + 1, c), Nat66Lookup::filtered);
}

// --- a lifetime per remote ---

// Ten remotes contacted ten seconds apart (the first four in the entry's own slots, the rest in its remote
// set): each stops letting packets in exactly one UDP timeout after the last packet sent to it, in the order
// they went quiet, while the mapping lives on through the later ones; one sent to again lives on.
TEST(Nat66Remotes, EachRemoteExpiresOnItsOwnInTheOrderItWentQuiet) {
  const uint64_t udp = Nat66Timeouts{}.udp_ms;
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Binding b, got;
  for (int i = 0; i < 10; ++i) b = send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + i * 10'000, c);
  send(*t, udp_flow(kContainer, 40000, remote(2), 53), kT0 + 95'000, c);  // remote 2 again, last of all

  for (int quiet = 0; quiet < 10; ++quiet) {
    if (quiet == 2) continue;
    const uint64_t deadline = kT0 + quiet * 10'000 + udp;
    for (int i = 0; i < 10; ++i) {
      const bool alive = i == 2 || i > quiet;
      const Address r = remote(i);
      // find_outside: a pure lookup, so looking refreshes nothing.
      EXPECT_EQ(t->find_outside(Nat66Proto::udp, b.outside, b.outside_port, deadline - 1, got, &r),
                i == 2 || i >= quiet ? Nat66Lookup::found : Nat66Lookup::filtered)
          << "remote " << i << " just before the deadline of remote " << quiet;
      EXPECT_EQ(t->find_outside(Nat66Proto::udp, b.outside, b.outside_port, deadline, got, &r),
                alive ? Nat66Lookup::found : Nat66Lookup::filtered)
          << "remote " << i << " at the deadline of remote " << quiet;
    }
    EXPECT_EQ(t->expire(deadline, kAll, c), 0u) << "the mapping lives while any remote does";
  }
  // A packet from an expired remote is refused and revives nothing.
  const uint64_t late = kT0 + 9 * 10'000 + udp;
  EXPECT_EQ(answer(*t, udp_flow(kContainer, 40000, remote(0), 53), b, late, c), Nat66Lookup::filtered);
  // Remote 2 is the last one standing; the mapping goes with it.
  const uint64_t last = kT0 + 95'000 + udp;
  EXPECT_EQ(t->expire(last - 1'000, kAll, c), 0u);
  EXPECT_EQ(t->expire(last + 2'000, kAll, c), 1u);
  EXPECT_EQ(t->counts().total(), 0u);
}

// Without inbound refresh, only packets to a remote keep it; answers from it do not.
TEST(Nat66Remotes, WithoutInboundRefreshOnlyOutboundPacketsKeepARemote) {
  const uint64_t udp = Nat66Timeouts{}.udp_ms;
  Nat66Config cfg = base_config();
  cfg.inbound_refresh = false;
  auto t = make_table(cfg);
  CounterBlock c;
  Nat66Binding b;
  for (int i = 0; i < 6; ++i) b = send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0, c);
  for (uint64_t at = kT0 + 60'000; at < kT0 + udp; at += 60'000) {
    send(*t, udp_flow(kContainer, 40000, remote(5), 53), at, c);
    EXPECT_EQ(answer(*t, udp_flow(kContainer, 40000, remote(0), 53), b, at, c), Nat66Lookup::found);
  }
  EXPECT_EQ(answer(*t, udp_flow(kContainer, 40000, remote(0), 53), b, kT0 + udp, c), Nat66Lookup::filtered);
  EXPECT_EQ(answer(*t, udp_flow(kContainer, 40000, remote(5), 53), b, kT0 + udp, c), Nat66Lookup::found);
}

// --- TCP state per connection ---

// One inside port, several connections (endpoint-independent mapping shares the outside port): one of them
// closing must not put the others on the transitory timer.
TEST(Nat66Remotes, TcpStateIsPerConnection) {
  const Nat66Timeouts d;
  auto t = make_table(base_config());
  CounterBlock c;
  constexpr int kConnections = 6;  // past the entry's own slots
  std::vector<Nat66Flow> syn;
  Nat66Binding b;
  for (int i = 0; i < kConnections; ++i) {
    syn.push_back(tcp_flow(kContainer, 40000, remote(i), 443, tcpflag::kSyn));
    b = send(*t, syn[i], kT0, c);
    ASSERT_EQ(answer(*t, syn[i], b, kT0 + 1, c, tcpflag::kSyn | tcpflag::kAck), Nat66Lookup::found);
    Nat66Flow ack = syn[i];
    ack.tcp_flags = tcpflag::kAck;
    send(*t, ack, kT0 + 2, c);
  }
  EXPECT_EQ(t->counts().tcp_established, 1u);

  // Connection 0 closes: FIN both ways.
  Nat66Flow fin = syn[0];
  fin.tcp_flags = tcpflag::kFin | tcpflag::kAck;
  const uint64_t t1 = kT0 + 60'000;
  send(*t, fin, t1, c);
  ASSERT_EQ(answer(*t, syn[0], b, t1 + 1, c, tcpflag::kFin | tcpflag::kAck), Nat66Lookup::found);
  EXPECT_EQ(t->counts().tcp_established, 1u) << "the other connections are still established";
  EXPECT_EQ(t->counts().tcp_transitory, 0u);

  // Past the transitory timer: the mapping lives (and so do the other connections); the closed one is gone.
  const uint64_t t2 = t1 + d.tcp_transitory_ms + 5'000;
  EXPECT_EQ(t->expire(t2, kAll, c), 0u);
  for (int i = 1; i < kConnections; ++i)
    EXPECT_EQ(answer(*t, syn[i], b, t2, c, tcpflag::kAck), Nat66Lookup::found) << i;
  EXPECT_EQ(answer(*t, syn[0], b, t2, c, tcpflag::kAck), Nat66Lookup::filtered);

  // All the others reset: now the mapping is transitory and goes on that timer.
  for (int i = 1; i < kConnections; ++i) {
    Nat66Flow rst = syn[i];
    rst.tcp_flags = tcpflag::kRst;
    send(*t, rst, t2 + 1, c);
  }
  EXPECT_EQ(t->counts().tcp_transitory, 1u);
  EXPECT_EQ(t->expire(t2 + 1 + d.tcp_transitory_ms - 1'000, kAll, c), 0u);
  EXPECT_EQ(t->expire(t2 + 1 + d.tcp_transitory_ms + 2'000, kAll, c), 1u);
}

// Two connections to one remote address, told apart by the remote port.
TEST(Nat66Remotes, TcpConnectionsToOneAddressAreToldApartByPort) {
  const Nat66Timeouts d;
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow a = tcp_flow(kContainer, 40000, kRemote, 443, tcpflag::kSyn);
  Nat66Flow b2 = tcp_flow(kContainer, 40000, kRemote, 8443, tcpflag::kSyn);
  Nat66Binding b = send(*t, a, kT0, c);
  send(*t, b2, kT0, c);
  for (const Nat66Flow& f : {a, b2}) {
    ASSERT_EQ(answer(*t, f, b, kT0 + 1, c, tcpflag::kSyn | tcpflag::kAck), Nat66Lookup::found);
    Nat66Flow ack = f;
    ack.tcp_flags = tcpflag::kAck;
    send(*t, ack, kT0 + 2, c);
  }
  Nat66Flow rst = a;
  rst.tcp_flags = tcpflag::kRst;
  send(*t, rst, kT0 + 10, c);
  EXPECT_EQ(t->counts().tcp_established, 1u);
  EXPECT_EQ(t->expire(kT0 + 10 + d.tcp_transitory_ms + 5'000, kAll, c), 0u);
  EXPECT_EQ(answer(*t, b2, b, kT0 + 10 + d.tcp_transitory_ms + 5'000, c, tcpflag::kAck), Nat66Lookup::found);
}

}  // namespace
}  // namespace npt66::test
