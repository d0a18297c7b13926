// Nat66Table::outbound_batch / inbound_batch give, flow by flow, what outbound() / inbound() give one at a time:
// two tables built alike, one driven in batches and one flow at a time, must end with the same results,
// bindings, counters, events and mappings.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "nat66_packets.h"

namespace npt66::test {
namespace {

constexpr uint64_t kT0 = 1'000'000;

Address host(uint32_t i) {
  Address a = kContainer;
  a.b[13] = static_cast<uint8_t>(i >> 16);
  a.b[14] = static_cast<uint8_t>(i >> 8);
  a.b[15] = static_cast<uint8_t>(i);
  return a;
}

// Flow j: its own inside port (so a new mapping keeps it whatever the order of creation), UDP, TCP or echo.
Nat66Flow flow(uint32_t j) {
  const uint16_t port = static_cast<uint16_t>(20000 + j);
  switch (j % 3) {
    case 0: return udp_flow(host(j / 7), port, kRemote, 53);
    case 1: return tcp_flow(host(j / 7), port, kRemote, 443, tcpflag::kAck);
    default: return icmp_flow(host(j / 7), port, kRemote);
  }
}

using EventKey = std::tuple<int, int, std::array<uint8_t, 16>, uint16_t, uint16_t>;
std::vector<EventKey> events_of(Nat66Table& t) {
  std::vector<Nat66MappingEvent> ev;
  t.drain_events(ev);
  std::vector<EventKey> keys;
  for (const auto& e : ev)
    keys.emplace_back(static_cast<int>(e.type), static_cast<int>(e.mapping.proto), e.mapping.inside.b,
                      e.mapping.inside_port, e.mapping.outside_port);
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(Nat66Batch, OutboundBatchEqualsOneAtATime) {
  auto batched = make_table(base_config());
  auto single = make_table(base_config());
  CounterBlock cb, cs;
  Nat66Binding ignored;
  for (uint32_t j = 0; j < 300; ++j) {  // existing mappings, made alike in both tables
    ASSERT_EQ(batched->outbound(flow(j), kT0, ignored, cb), Counter::count_);
    ASSERT_EQ(single->outbound(flow(j), kT0, ignored, cs), Counter::count_);
  }
  events_of(*batched);  // the creations' events: only what follows is compared
  events_of(*single);
  // 150 flows: existing ones in a scrambled order, new ones, a repeat of a new one within the batch, and a
  // TCP SYN/FIN that changes a mapping's state (an UPDATE event). More than one group of kBatch.
  std::vector<Nat66Flow> flows;
  for (uint32_t k = 0; k < 100; ++k) flows.push_back(flow((k * 37) % 300));
  for (uint32_t j = 300; j < 340; ++j) flows.push_back(flow(j));
  flows.push_back(flow(305));
  Nat66Flow fin = flow(1);
  fin.tcp_flags = tcpflag::kFin | tcpflag::kAck;
  flows.push_back(fin);
  for (uint32_t j = 340; j < 348; ++j) flows.push_back(flow(j));
  ASSERT_GT(flows.size(), Nat66Table::kBatch);

  std::vector<Nat66Binding> got(flows.size());
  std::vector<Counter> result(flows.size(), Counter::not_ours);
  batched->outbound_batch(flows.data(), flows.size(), kT0 + 1000, got.data(), result.data(), cb);
  for (size_t i = 0; i < flows.size(); ++i) {
    Nat66Binding want;
    Counter r = single->outbound(flows[i], kT0 + 1000, want, cs);
    ASSERT_EQ(result[i], r) << "flow " << i;
    EXPECT_EQ(got[i].handle, want.handle) << "flow " << i;
    EXPECT_EQ(got[i].outside, want.outside) << "flow " << i;
    EXPECT_EQ(got[i].outside_port, want.outside_port) << "flow " << i;
    EXPECT_EQ(got[i].inside, flows[i].src) << "flow " << i;
    EXPECT_EQ(got[i].inside_port, flows[i].sport) << "flow " << i;
  }
  for (size_t k = 0; k < kCounterCount; ++k)
    EXPECT_EQ(cb.v[k].load(), cs.v[k].load()) << kCounterInfo[k].name;
  EXPECT_EQ(cb.get(Counter::nat66_mapping_created), 348u);
  EXPECT_EQ(events_of(*batched), events_of(*single));
  Nat66Counts a = batched->counts(), b = single->counts();
  EXPECT_EQ(a.udp, b.udp);
  EXPECT_EQ(a.tcp_transitory, b.tcp_transitory);
  EXPECT_EQ(a.tcp_established, b.tcp_established);
  EXPECT_EQ(a.icmp, b.icmp);
  EXPECT_EQ(a.total(), 348u);
}

TEST(Nat66Batch, OutboundBatchRefusesLikeOneAtATime) {
  Nat66Config c = base_config();
  c.max_mappings = 10;
  auto t = make_table(c);
  CounterBlock counters;
  std::vector<Nat66Flow> flows;
  for (uint32_t j = 0; j < 12; ++j) flows.push_back(udp_flow(host(j), static_cast<uint16_t>(20000 + j), kRemote, 53));
  std::vector<Nat66Binding> got(flows.size());
  std::vector<Counter> result(flows.size());
  t->outbound_batch(flows.data(), flows.size(), kT0, got.data(), result.data(), counters);
  EXPECT_EQ(std::count(result.begin(), result.end(), Counter::count_), 10);
  EXPECT_EQ(std::count(result.begin(), result.end(), Counter::drop_nat66_table_full), 2);
  EXPECT_EQ(t->counts().total(), 10u);
}

TEST(Nat66Batch, InboundBatchEqualsOneAtATime) {
  auto batched = make_table(base_config());
  auto single = make_table(base_config());
  CounterBlock cb, cs;
  std::vector<Nat66Binding> bound(200);
  for (uint32_t j = 0; j < 200; ++j) {
    Nat66Binding other;
    ASSERT_EQ(batched->outbound(flow(j), kT0, bound[j], cb), Counter::count_);
    ASSERT_EQ(single->outbound(flow(j), kT0, other, cs), Counter::count_);
    ASSERT_EQ(bound[j].handle, other.handle);
  }
  events_of(*batched);  // the creations' events: only what follows is compared
  events_of(*single);
  // Replies (found), replies from another remote (filtered: address-dependent by default), replies to a port
  // nobody holds and to an address that is not ours (absent), and a TCP reply that completes the handshake.
  std::vector<Nat66Flow> replies;
  for (uint32_t k = 0; k < 150; ++k) replies.push_back(reply_to(flow((k * 13) % 200), bound[(k * 13) % 200]));
  for (uint32_t k = 0; k < 10; ++k) {
    Nat66Flow r = reply_to(flow(k), bound[k]);
    r.src = kRemote2;
    replies.push_back(r);
  }
  Nat66Flow nobody = reply_to(flow(0), bound[0]);
  nobody.dport = 29999;
  replies.push_back(nobody);
  Nat66Flow elsewhere = reply_to(flow(0), bound[0]);
  elsewhere.dst = kRouter;
  replies.push_back(elsewhere);
  ASSERT_GT(replies.size(), Nat66Table::kBatch);

  for (uint64_t now : {kT0 + 1000, kT0 + 400'000}) {  // the second pass is after the UDP and echo timers ran out
    std::vector<Nat66Binding> got(replies.size());
    std::vector<Nat66Lookup> result(replies.size());
    batched->inbound_batch(replies.data(), replies.size(), now, got.data(), result.data(), cb);
    size_t found = 0;
    for (size_t i = 0; i < replies.size(); ++i) {
      Nat66Binding want;
      Nat66Lookup r = single->inbound(replies[i], now, want, cs);
      ASSERT_EQ(result[i], r) << "reply " << i << " at " << now;
      if (r != Nat66Lookup::found) continue;
      ++found;
      EXPECT_EQ(got[i].handle, want.handle) << "reply " << i;
      EXPECT_EQ(got[i].inside, want.inside) << "reply " << i;
      EXPECT_EQ(got[i].inside_port, want.inside_port) << "reply " << i;
    }
    EXPECT_GT(found, 0u);
    if (now == kT0 + 1000) {
      EXPECT_EQ(std::count(result.begin(), result.end(), Nat66Lookup::filtered), 10);
    }
    for (size_t k = 0; k < kCounterCount; ++k)
      EXPECT_EQ(cb.v[k].load(), cs.v[k].load()) << kCounterInfo[k].name;
    EXPECT_EQ(events_of(*batched), events_of(*single));
  }
}

}  // namespace
}  // namespace npt66::test
