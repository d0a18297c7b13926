// A masquerade mapping's remotes, the parts that are new with them: the per-mapping limit and what happens at
// it (refused, counted, a LIMIT event at most every 10 s, nothing evicted), REMOTE events (one per remote
// added, never per packet), the listing of a mapping's remotes with their deadlines, and the remote set's
// own hash table (nat66_remotes.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "nat66_packets.h"
#include "nat66_translate.h"

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

Counter send(Nat66Table& t, const Nat66Flow& f, uint64_t now, CounterBlock& c, Nat66Binding* out = nullptr) {
  Nat66Binding b;
  Counter why = t.outbound(f, now, b, c);
  if (out) *out = b;
  return why;
}

bool allowed(Nat66Table& t, const Nat66Binding& b, const Address& r, uint64_t now) {
  Nat66Binding got;
  return t.find_outside(Nat66Proto::udp, b.outside, b.outside_port, now, got, &r) == Nat66Lookup::found;
}

// --- the limit ---

TEST(Nat66RemoteLimit, ANewRemoteBeyondTheLimitIsRefusedAndNoneIsEvicted) {
  Nat66Config cfg = base_config();
  cfg.max_remotes_per_mapping = 8;
  auto t = make_table(cfg);
  CounterBlock c;
  Nat66Binding b;
  for (int i = 0; i < 8; ++i) ASSERT_EQ(send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + i, c, &b), Counter::count_);
  EXPECT_EQ(send(*t, udp_flow(kContainer, 40000, remote(8), 53), kT0 + 10, c), Counter::drop_nat66_remote_limit);
  EXPECT_TRUE(nat66_answer_admin_prohibited(Counter::drop_nat66_remote_limit));
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(allowed(*t, b, remote(i), kT0 + 20)) << i;
  EXPECT_FALSE(allowed(*t, b, remote(8), kT0 + 20));
  // A remote already known is not a new one: packets to it still pass.
  EXPECT_EQ(send(*t, udp_flow(kContainer, 40000, remote(3), 53), kT0 + 30, c), Counter::count_);
  EXPECT_EQ(c.get(Counter::nat66_remote_added), 8u);

  // Once a remote has gone quiet past its timer, its place is free.
  const uint64_t udp = cfg.timeouts.udp_ms;
  for (int i = 1; i < 8; ++i) ASSERT_EQ(send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + udp - 1, c), Counter::count_);
  EXPECT_EQ(send(*t, udp_flow(kContainer, 40000, remote(8), 53), kT0 + udp, c), Counter::count_);
  EXPECT_TRUE(allowed(*t, b, remote(8), kT0 + udp + 1));
  EXPECT_FALSE(allowed(*t, b, remote(0), kT0 + udp + 1));
  // Other mappings have limits of their own.
  EXPECT_EQ(send(*t, udp_flow(kContainer, 40001, remote(100), 53), kT0 + udp, c), Counter::count_);
}

TEST(Nat66RemoteLimit, ExpiredRemotesInTheSetAreSweptToMakeRoom) {
  Nat66Config cfg = base_config();
  cfg.max_remotes_per_mapping = 40;
  auto t = make_table(cfg);
  CounterBlock c;
  const uint64_t udp = cfg.timeouts.udp_ms;
  for (int i = 0; i < 40; ++i) ASSERT_EQ(send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0, c), Counter::count_);
  // Thirty of them stay, ten go quiet: ten new ones fit, an eleventh does not.
  for (int i = 0; i < 30; ++i) ASSERT_EQ(send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + udp - 1, c), Counter::count_);
  for (int i = 40; i < 50; ++i) EXPECT_EQ(send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + udp, c), Counter::count_) << i;
  EXPECT_EQ(send(*t, udp_flow(kContainer, 40000, remote(50), 53), kT0 + udp, c), Counter::drop_nat66_remote_limit);
  std::vector<Nat66MappingRecord> rows;
  t->snapshot(rows, kT0 + udp);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].remote_count, 40u);
}

TEST(Nat66RemoteLimit, TheLimitEventComesAtMostEveryTenSecondsEachRefusalIsReturned) {
  Nat66Config cfg = base_config();
  cfg.max_remotes_per_mapping = 1;
  auto t = make_table(cfg);
  CounterBlock c;
  ASSERT_EQ(send(*t, udp_flow(kContainer, 40000, kRemote, 53), kT0, c), Counter::count_);
  int refused = 0;
  for (int i = 0; i < 100; ++i)
    refused += send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + i * 100, c) == Counter::drop_nat66_remote_limit;
  EXPECT_EQ(refused, 100);
  EXPECT_EQ(send(*t, udp_flow(kContainer, 40000, remote(7), 53), kT0 + 10'000, c), Counter::drop_nat66_remote_limit);
  std::vector<Nat66MappingEvent> ev;
  t->drain_events(ev);
  std::vector<Nat66MappingEvent> limits;
  std::copy_if(ev.begin(), ev.end(), std::back_inserter(limits),
               [](const Nat66MappingEvent& e) { return e.type == Nat66EventType::remote_limit; });
  ASSERT_EQ(limits.size(), 2u);  // at kT0 and at kT0 + 10 s
  EXPECT_EQ(limits[0].time_ms, kT0);
  EXPECT_EQ(limits[0].mapping.remote, remote(0));  // the refused remote
  EXPECT_EQ(limits[0].mapping.remote_count, 1u);
  EXPECT_EQ(limits[1].time_ms, kT0 + 10'000);
  EXPECT_EQ(std::string(to_string(limits[0].type)), "LIMIT");
}

// Through translate(), as the engine sees it: the packet is dropped, counted under drop_nat66_remote_limit and
// answered with Destination Unreachable "administratively prohibited"; the source is left as it was.
TEST(Nat66RemoteLimit, APacketToOneRemoteTooManyIsDroppedCountedAndAnswered) {
  Nat66Config cfg = base_config();
  cfg.max_remotes_per_mapping = 1;
  auto t = make_table(cfg);
  CounterBlock c;
  Packet first = build_ipv6(kContainer, kRemote, udp(40000, 53, {1, 2, 3}));
  ASSERT_EQ(translate_nat66(*t, Direction::outbound, first.bytes.data(), first.bytes.size(), kT0, c).action, Action::translated);
  Packet second = build_ipv6(kContainer, kRemote2, udp(40000, 53, {1, 2, 3}));
  const Bytes before = second.bytes;
  Verdict v = translate_nat66(*t, Direction::outbound, second.bytes.data(), second.bytes.size(), kT0 + 1, c);
  EXPECT_EQ(v.action, Action::drop);
  EXPECT_EQ(v.reason, Counter::drop_nat66_remote_limit);
  EXPECT_EQ(v.answer, IcmpAnswer::admin_prohibited);
  EXPECT_EQ(c.get(Counter::drop_nat66_remote_limit), 1u);
  EXPECT_EQ(second.bytes, before);
}

TEST(Nat66RemoteLimit, ConfigurationRefusesZero) {
  Nat66Config cfg = base_config();
  cfg.max_remotes_per_mapping = 0;
  EXPECT_NE(validate(cfg).find("maxRemotesPerMapping"), std::string::npos);
  cfg.max_remotes_per_mapping = kNat66MaxRemotesPerMapping + 1;
  EXPECT_NE(validate(cfg).find("maxRemotesPerMapping"), std::string::npos);
  cfg.max_remotes_per_mapping = 1;
  EXPECT_EQ(validate(cfg), "");
}

// --- events and listing ---

TEST(Nat66RemoteEvents, OneRemoteEventPerRemoteAddedNeverPerPacket) {
  auto t = make_table(base_config());
  CounterBlock c;
  const uint64_t udp = Nat66Timeouts{}.udp_ms;
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 6; ++i) send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + round, c);
  // Remote 0 quiet past its timer, then back: added again.
  for (int i = 1; i < 6; ++i) send(*t, udp_flow(kContainer, 40000, remote(i), 53), kT0 + udp - 1, c);
  send(*t, udp_flow(kContainer, 40000, remote(0), 53), kT0 + udp + 10, c);
  std::vector<Nat66MappingEvent> ev;
  t->drain_events(ev);
  ASSERT_EQ(ev.size(), 7u);
  EXPECT_EQ(ev[0].type, Nat66EventType::created);
  EXPECT_EQ(ev[0].mapping.remote, remote(0));
  EXPECT_EQ(ev[0].mapping.remote_count, 1u);
  for (int i = 1; i < 6; ++i) {
    EXPECT_EQ(ev[i].type, Nat66EventType::remote_added) << i;
    EXPECT_EQ(ev[i].mapping.remote, remote(i));
    EXPECT_EQ(ev[i].mapping.remote_count, static_cast<uint32_t>(i + 1));
  }
  EXPECT_EQ(ev[6].type, Nat66EventType::remote_added);
  EXPECT_EQ(ev[6].mapping.remote, remote(0));
  EXPECT_EQ(std::string(to_string(ev[6].type)), "REMOTE");
  EXPECT_EQ(c.get(Counter::nat66_remote_added), 7u);
}

TEST(Nat66RemoteEvents, ATcpConnectionThatEstablishesAmongOthersReportsTheMappingsState) {
  auto t = make_table(base_config());
  CounterBlock c;
  Nat66Flow a = tcp_flow(kContainer, 40000, remote(1), 443, tcpflag::kSyn);
  Nat66Flow b2 = tcp_flow(kContainer, 40000, remote(2), 443, tcpflag::kSyn);
  Nat66Binding b;
  send(*t, a, kT0, c, &b);
  Nat66Binding got;
  ASSERT_EQ(t->inbound(reply_to(a, b, tcpflag::kSyn | tcpflag::kAck), kT0 + 1, got, c), Nat66Lookup::found);
  send(*t, b2, kT0 + 2, c);
  std::vector<Nat66MappingEvent> ev;
  t->drain_events(ev);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, Nat66EventType::created);
  EXPECT_EQ(ev[1].type, Nat66EventType::updated);
  EXPECT_EQ(ev[1].mapping.state, Nat66State::tcp_established);
  EXPECT_EQ(ev[2].type, Nat66EventType::remote_added);
  EXPECT_EQ(ev[2].mapping.state, Nat66State::tcp_established);  // the mapping's: one connection is
  EXPECT_EQ(ev[2].mapping.remote_count, 2u);
}

TEST(Nat66RemoteSnapshot, ListsEachMappingsLiveRemotesWithTheirDeadlines) {
  const Nat66Timeouts d;
  auto t = make_table(base_config());
  CounterBlock c;
  for (int i = 0; i < 10; ++i) send(*t, udp_flow(kContainer, 40000, remote(i), static_cast<uint16_t>(5000 + i)), kT0 + i * 1000, c);
  Nat66Flow syn = tcp_flow(kContainer2, 40000, kRemote, 443, tcpflag::kSyn);
  send(*t, syn, kT0 + d.udp_ms, c);
  std::vector<Nat66MappingRecord> rows;
  std::vector<Nat66Remote> remotes;
  t->snapshot(rows, kT0 + d.udp_ms + 2500, &remotes);  // remotes 0..2 have gone quiet
  ASSERT_EQ(rows.size(), 2u);
  const Nat66MappingRecord& udp = rows[0].proto == Nat66Proto::udp ? rows[0] : rows[1];
  const Nat66MappingRecord& tcp = rows[0].proto == Nat66Proto::udp ? rows[1] : rows[0];
  EXPECT_EQ(udp.remote_count, 7u);
  EXPECT_EQ(tcp.remote_count, 1u);
  ASSERT_EQ(remotes.size(), 8u);
  std::set<int> seen;
  for (uint32_t k = udp.remotes_first; k < udp.remotes_first + udp.remote_count; ++k) {
    const Nat66Remote& r = remotes[k];
    int i = r.addr.b[15];
    seen.insert(i);
    EXPECT_EQ(r.expires_ms, kT0 + i * 1000 + d.udp_ms);
    EXPECT_EQ(r.port, 5000 + i);
  }
  EXPECT_EQ(seen, (std::set<int>{3, 4, 5, 6, 7, 8, 9}));
  const Nat66Remote& conn = remotes[tcp.remotes_first];
  EXPECT_EQ(conn.addr, kRemote);
  EXPECT_EQ(conn.port, 443);
  EXPECT_EQ(conn.state, Nat66State::tcp_transitory);
  // Without a clock, every remembered remote is counted (the old signature).
  rows.clear();
  t->snapshot(rows);
  EXPECT_EQ((rows[0].proto == Nat66Proto::udp ? rows[0] : rows[1]).remote_count, 10u);
  EXPECT_EQ(t->expire(kT0 + d.udp_ms + 2500, kAll, c), 0u);
}

// --- the remote set's hash table ---

TEST(Nat66RemoteTable, GrowsSweepsAndFindsEveryMemberAfterBackwardShiftDeletion) {
  Nat66RemoteTable set(0x1234567, 0x89abcdef);
  std::mt19937 rng(13);
  std::vector<Nat66Remote> all;
  for (int i = 0; i < 3000; ++i) {
    Nat66Remote r;
    r.addr = remote(static_cast<int>(rng() % 100000));
    r.port = static_cast<uint16_t>(rng() % 4);
    r.expires_ms = 1 + rng() % 1000;
    if (set.find(r.addr, r.port, true) != nullptr) continue;
    ASSERT_NE(set.insert(r), nullptr);
    all.push_back(r);
  }
  EXPECT_EQ(set.size(), all.size());
  EXPECT_GE(set.bytes(), all.size() * 2 * sizeof(Nat66Remote));  // load <= 1/2
  for (uint64_t now : {100u, 400u, 999u}) {
    size_t expected_live = std::count_if(all.begin(), all.end(), [&](const Nat66Remote& r) { return r.live(now); });
    set.sweep(now);
    EXPECT_EQ(set.size(), expected_live);
    EXPECT_EQ(set.live(now), expected_live);
    for (const Nat66Remote& r : all) {
      const Nat66Remote* got = set.find(r.addr, r.port, true);
      if (r.live(now)) {
        ASSERT_NE(got, nullptr);
        EXPECT_EQ(got->expires_ms, r.expires_ms);
        EXPECT_NE(set.find_live(r.addr, now), nullptr);
      } else {
        EXPECT_EQ(got, nullptr);
      }
    }
  }
}

}  // namespace
}  // namespace npt66::test
