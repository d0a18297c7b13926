// NAT66 masquerade table under concurrency: many threads creating, looking up both ways and translating while
// another expires old mappings. Checks the invariants afterwards (no port handed out twice, both indexes agree,
// counts match the snapshot). Also run under -fsanitize=thread (see the report of issue 4's core).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "nat66_packets.h"
#include "nat66_translate.h"

namespace npt66::test {
namespace {

constexpr uint64_t kOld = 1'000'000;         // when the old mappings were made
constexpr uint64_t kNow = kOld + 1'000'000;  // long after they expired
constexpr int kThreads = 4;
constexpr int kPerThread = 6000;

Address host(int thread, int i) {
  Address a = kContainer;
  a.b[8] = static_cast<uint8_t>(thread);
  a.b[12] = static_cast<uint8_t>(i >> 8);
  a.b[13] = static_cast<uint8_t>(i);
  return a;
}

Nat66Config roomy_config() {
  Nat66Config c = base_config();
  c.inside = {prefix("fd5a:ceb9:ed8d::/56")};
  c.outside = {addr("2001:db8:5::1"), addr("2001:db8:5::2"), addr("2001:db8:5::3"), addr("2001:db8:5::4")};
  c.port_min = 1024;
  c.port_max = 65535;
  c.event_capacity = 1024;  // small on purpose: overflow is part of the path under test
  c.max_per_64 = c.max_mappings;  // every host here shares one /64
  return c;
}

TEST(Nat66Concurrency, CreateLookupTranslateAndExpireAtOnce) {
  auto t = make_table(roomy_config());
  CounterBlock setup;
  // Old mappings, all due long before kNow: the expiry thread removes them while the others work.
  constexpr int kOldCount = 8000;
  for (int i = 0; i < kOldCount; ++i) {
    Nat66Binding b;
    ASSERT_EQ(t->outbound(udp_flow(host(9, i), 40000, kRemote, 53), kOld, b, setup), Counter::count_);
  }
  ASSERT_EQ(t->counts().udp, static_cast<uint64_t>(kOldCount));

  std::atomic<bool> go{false};
  std::atomic<int> failures{0};
  std::vector<CounterBlock> blocks(kThreads + 1);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      while (!go.load()) std::this_thread::yield();
      CounterBlock& c = blocks[th];
      for (int i = 0; i < kPerThread; ++i) {
        Nat66Flow f = i % 3 == 0 ? tcp_flow(host(th, i), 50000, kRemote, 443, tcpflag::kSyn)
                      : i % 3 == 1 ? udp_flow(host(th, i), 50000, kRemote, 53)
                                   : icmp_flow(host(th, i), 50000, kRemote);
        Nat66Binding b, in, out;
        if (t->outbound(f, kNow, b, c) != Counter::count_) ++failures;
        // Both directions find it at once, and agree.
        if (t->find_inside(f.proto, f.src, f.sport, kNow, in) != Nat66Lookup::found || in.handle != b.handle) ++failures;
        if (t->inbound(reply_to(f, b), kNow, out, c) != Nat66Lookup::found || out.inside != f.src ||
            out.inside_port != f.sport)
          ++failures;
        // Look at another thread's recent work: whatever is found must be self-consistent.
        int other = (th + 1) % kThreads;
        Nat66Binding peer;
        if (t->find_inside(Nat66Proto::udp, host(other, i | 1), 50000, kNow, peer) == Nat66Lookup::found) {
          Nat66Binding back;
          if (t->find_outside(Nat66Proto::udp, peer.outside, peer.outside_port, kNow, back) != Nat66Lookup::found ||
              back.inside != peer.inside)
            ++failures;
        }
        // And a whole packet through translate().
        if (i % 16 == 0) {
          Packet p = build_ipv6(host(th, i), kRemote2, udp(40000, 53, {1, 2}));
          if (translate_nat66(*t, Direction::outbound, p.bytes.data(), p.bytes.size(), kNow, c).action != Action::translated ||
              !l4_checksum_ok(p))
            ++failures;
        }
      }
    });
  }
  std::atomic<bool> done{false};
  size_t expired = 0;
  std::thread reaper([&] {
    while (!go.load()) std::this_thread::yield();
    std::vector<Nat66MappingEvent> events;
    int spare_rounds = 100000;  // after the workers stop, a bounded wait for the rest (a bug must not hang)
    while (!done.load() || (expired < kOldCount && --spare_rounds > 0)) {
      expired += t->expire(kNow, 64, blocks[kThreads]);
      t->drain_events(events);
      events.clear();
      std::vector<Nat66MappingRecord> rows;
      if (expired % 7 == 0) t->snapshot(rows);  // listing while others write
    }
  });
  go = true;
  for (auto& th : threads) th.join();
  done = true;
  reaper.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(expired, static_cast<size_t>(kOldCount));
  const uint64_t expected = kThreads * (kPerThread + (kPerThread + 15) / 16);
  std::vector<Nat66MappingRecord> rows;
  t->snapshot(rows);
  EXPECT_EQ(rows.size(), expected);
  EXPECT_EQ(t->counts().total(), expected);
  // No outside (address, protocol, port) is held twice, and each resolves back to its inside endpoint.
  std::set<std::tuple<std::string, int, uint16_t>> seen;
  for (const auto& r : rows) {
    EXPECT_TRUE(seen.insert({str(r.outside), static_cast<int>(r.proto), r.outside_port}).second);
    Nat66Binding b;
    ASSERT_EQ(t->find_outside(r.proto, r.outside, r.outside_port, kNow, b), Nat66Lookup::found);
    EXPECT_EQ(b.inside, r.inside);
    EXPECT_EQ(b.inside_port, r.inside_port);
  }
  uint64_t created = 0;
  for (auto& c : blocks) created += c.get(Counter::nat66_mapping_created);
  EXPECT_EQ(created, expected);
  // Everything goes in the end.
  CounterBlock c;
  while (t->expire(kNow + 10'000'000, 4096, c) > 0) {
  }
  EXPECT_EQ(t->counts().total(), 0u);
  rows.clear();
  t->snapshot(rows);
  EXPECT_TRUE(rows.empty());
}

TEST(Nat66Concurrency, RacingThreadsAgreeOnOneMappingPerInsideEndpoint) {
  auto t = make_table(roomy_config());
  constexpr int kKeys = 5000;
  std::vector<std::vector<uint16_t>> ports(kThreads, std::vector<uint16_t>(kKeys));
  std::vector<CounterBlock> blocks(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      while (!go.load()) std::this_thread::yield();
      for (int k = 0; k < kKeys; ++k) {
        int i = (k * 7 + th * 1231) % kKeys;  // different order per thread, same keys
        Nat66Binding b;
        Nat66Flow f = udp_flow(host(1, i), static_cast<uint16_t>(20000 + i % 50), kRemote, 53);
        ports[th][i] = t->outbound(f, kOld, b, blocks[th]) == Counter::count_ ? b.outside_port : 0;
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_NE(ports[0][i], 0);
    for (int th = 1; th < kThreads; ++th) ASSERT_EQ(ports[th][i], ports[0][i]) << i;
  }
  EXPECT_EQ(t->counts().udp, static_cast<uint64_t>(kKeys));
  uint64_t created = 0;
  for (auto& c : blocks) created += c.get(Counter::nat66_mapping_created);
  EXPECT_EQ(created, static_cast<uint64_t>(kKeys));
}

// A reload changes the tunables while queue threads make mappings and let replies in: every mapping takes a
// port of one whole range in force (never half of one and half of another), and every reply finds its mapping.
TEST(Nat66Concurrency, TunablesChangeWhileMappingsAreMade) {
  auto t = make_table(roomy_config());
  Nat66Tunables a = t->tunables(), b = a;
  a.port_min = 30000, a.port_max = 39999, a.filtering = Nat66Filtering::address_dependent;
  b.port_min = 50000, b.port_max = 59999, b.filtering = Nat66Filtering::endpoint_independent;
  b.timeouts.udp_ms = 600'000;
  ASSERT_EQ(t->set_tunables(a), "");
  constexpr int kKeys = 3000;
  std::vector<CounterBlock> blocks(kThreads);
  std::atomic<bool> go{false}, done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kKeys; ++i) {
        Nat66Binding got, back;
        Nat66Flow f = udp_flow(host(th, i), 40000, kRemote, 53);
        if (t->outbound(f, kOld, got, blocks[th]) != Counter::count_) {
          ++failures;
          continue;
        }
        const uint16_t p = got.outside_port;
        if (!((p >= 30000 && p <= 39999) || (p >= 50000 && p <= 59999))) ++failures;
        if (t->inbound(reply_to(f, got), kOld + 1, back, blocks[th]) != Nat66Lookup::found || back.inside != f.src)
          ++failures;
      }
    });
  }
  std::thread changer([&] {
    while (!go.load()) std::this_thread::yield();
    for (int n = 0; !done.load(); ++n) EXPECT_EQ(t->set_tunables(n % 2 ? a : b), "");
  });
  go = true;
  for (auto& th : threads) th.join();
  done = true;
  changer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(t->counts().udp, static_cast<uint64_t>(kThreads * kKeys));
}

// One mapping's remotes grow past its inline slots (the remote set reallocating as it doubles) on one queue
// thread while another filters the replies, a third lists and expires, and the limit is reached: every
// remote whose packet went out is let in from the moment it did, no address never sent to ever is, and the
// limit holds exactly.
TEST(Nat66Concurrency, RemotesGrowWhileAnotherThreadFiltersTheirReplies) {
  Nat66Config cfg = roomy_config();
  constexpr int kLimit = 3000;
  cfg.max_remotes_per_mapping = kLimit;
  auto t = make_table(cfg);
  auto remote = [](int i) {
    Address a = addr("2001:db8:77::");
    a.b[13] = static_cast<uint8_t>(i >> 16);
    a.b[14] = static_cast<uint8_t>(i >> 8);
    a.b[15] = static_cast<uint8_t>(i);
    return a;
  };
  constexpr int kMappings = 2;  // two inside sockets, in whatever shards they hash to
  constexpr int kSent = kLimit + 200;
  std::vector<std::atomic<int>> sent(kMappings);  // remotes [0, sent) of mapping m have gone out
  std::atomic<bool> go{false}, done{false};
  std::atomic<int> failures{0}, refused{0};
  std::vector<CounterBlock> blocks(3);

  std::thread writer([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kSent; ++i) {
      for (int m = 0; m < kMappings; ++m) {
        Nat66Binding b;
        Counter why = t->outbound(udp_flow(host(1, m), 40000, remote(i), 53), kNow, b, blocks[0]);
        if (why == Counter::count_) {
          sent[m].store(i + 1, std::memory_order_release);
        } else if (why == Counter::drop_nat66_remote_limit && i >= kLimit) {
          ++refused;
        } else {
          ++failures;
        }
      }
    }
    done = true;
  });
  std::thread filter([&] {
    while (!go.load()) std::this_thread::yield();
    std::mt19937 rng(7);
    while (!done.load()) {
      for (int m = 0; m < kMappings; ++m) {
        int n = std::min(sent[m].load(std::memory_order_acquire), kLimit);
        if (n == 0) continue;
        Nat66Flow reply = udp_flow(remote(static_cast<int>(rng() % n)), 53, cfg.outside[0], 0);
        Nat66Binding out, m0;
        if (t->find_inside(Nat66Proto::udp, host(1, m), 40000, kNow, m0) != Nat66Lookup::found) {
          ++failures;
          continue;
        }
        reply.dst = m0.outside;
        reply.dport = m0.outside_port;
        if (t->inbound(reply, kNow, out, blocks[1]) != Nat66Lookup::found || out.inside != host(1, m)) ++failures;
        reply.src = remote(kSent + static_cast<int>(rng() % 1000));  // never sent to
        if (t->inbound(reply, kNow, out, blocks[1]) != Nat66Lookup::filtered) ++failures;
      }
    }
  });
  std::thread lister([&] {
    while (!go.load()) std::this_thread::yield();
    std::vector<Nat66MappingEvent> events;
    while (!done.load()) {
      t->expire(kNow, 64, blocks[2]);
      t->drain_events(events);
      events.clear();
      std::vector<Nat66MappingRecord> rows;
      std::vector<Nat66Remote> remotes;
      t->snapshot(rows, kNow, &remotes);
      for (const auto& r : rows)
        if (r.remote_count > static_cast<uint32_t>(kLimit)) ++failures;
    }
  });
  go = true;
  writer.join();
  filter.join();
  lister.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(refused.load(), kMappings * (kSent - kLimit));
  std::vector<Nat66MappingRecord> rows;
  std::vector<Nat66Remote> remotes;
  t->snapshot(rows, kNow, &remotes);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kMappings));
  for (const auto& r : rows) EXPECT_EQ(r.remote_count, static_cast<uint32_t>(kLimit));
  EXPECT_EQ(remotes.size(), static_cast<size_t>(kMappings * kLimit));
  EXPECT_EQ(blocks[0].get(Counter::nat66_remote_added), static_cast<uint64_t>(kMappings * kLimit));
}

}  // namespace
}  // namespace npt66::test
