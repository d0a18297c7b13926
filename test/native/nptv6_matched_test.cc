// translate_nptv6_matched (the dispatch's call, given the mapping it matched) gives, packet by packet, what
// translate_nptv6 gives (bytes, verdicts, counters), and the plain-packet fast path of translate_nptv6 gives what the general parse-then-map path
// gives, on a seeded random mix of packets: plain TCP/UDP/echo, ICMPv6 errors, extension headers, ND,
// fragments, malformed ones, addresses that are refused or not ours, with tables of one and of several pairs.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "nptv6.h"
#include "packet_builder.h"
#include "packet_view.h"

namespace npt66 {
namespace {

using test::addr;
using test::Bytes;

// Addresses to draw from: inside and outside hosts of each pair, ones the rules refuse, ones nobody maps.
std::vector<Address> pool() {
  std::vector<Address> a;
  for (const char* s : {"fd01:203:405:1::1234", "fd01:203:405:ffff::1", "fd01:203:405:7::", "2001:db8:1:d550::1234",
                        "2001:db8:1:ffff::9", "fd00:1:2:3::5", "fd00:1:2:3:ffff:ffff:ffff:ffff", "fd00:1:2:3::",
                        "2001:db8:a:b:cf38::5", "2001:db8:a:b::", "fd77:1:2:301:4::1", "fd77:1:2:3ff:ffff::1",
                        "2001:db8:77:1230::1", "2001:db8:5::20", "2001:db8:99::1", "fe80::1", "ff02::1"})
    a.push_back(addr(s));
  return a;
}

Bytes random_packet(std::mt19937& rng, const std::vector<Address>& addrs) {
  auto pick = [&] { return addrs[rng() % addrs.size()]; };
  const Address src = pick(), dst = pick();
  using namespace test;
  Bytes b;
  switch (rng() % 12) {
    case 0: b = build_ipv6(src, dst, udp(1000, 53, Bytes(rng() % 40, 7))).bytes; break;
    case 1: b = build_ipv6(src, dst, tcp(40000, 443, Bytes(rng() % 40, 9))).bytes; break;
    case 2: b = build_ipv6(src, dst, echo_request(7, 1)).bytes; break;
    case 3: b = build_ipv6(src, dst, test::icmp6(135, 0, 0, Bytes(16, 0))).bytes; break;  // ND: never translated
    case 4: {
      Bytes inner = build_ipv6(pick(), pick(), udp(53, 1000, Bytes(20, 1))).bytes;
      b = build_ipv6(src, dst, icmp6_error(icmp6::kTimeExceeded, 0, 0, inner)).bytes;
      break;
    }
    case 5: b = build_ipv6(src, dst, {dest_opts()}, udp(1, 2)).bytes; break;
    case 6: b = build_ipv6(src, dst, {fragment(0, true)}, udp(1, 2)).bytes; break;
    case 7: b = build_ipv6(src, dst, opaque(ip6::kUdp, Bytes(rng() % 6, 1))).bytes; break;  // 0..5 bytes
    case 8: b = build_ipv6(src, dst, opaque(ip6::kIcmpv6, Bytes(rng() % 6, 128))).bytes; break;
    case 9: b = build_ipv6(src, dst, udp(1, 2)).bytes, b.resize(rng() % b.size()); break;  // truncated
    case 10: b = build_ipv6(src, dst, tcp(1, 2)).bytes, b[0] = static_cast<uint8_t>(rng() % 256); break;
    default: b = build_ipv6(src, dst, udp(1, 2)).bytes, b[4] = b[5] = 0; break;  // a jumbogram's length
  }
  return b;
}

// The general path of translate_nptv6 for a packet without extension headers or ICMPv6 error: parse, refuse
// ND/MLD (dropping outbound off-link ones), match, map through the Address API. The fast path must agree with it.
Verdict reference(const PrefixTable& t, Direction d, Bytes& b, CounterBlock& c) {
  PacketView v;
  Counter why;
  if (!parse_packet(b.data(), b.size(), v, why)) {
    c.add(why);
    return Verdict::drop(why);
  }
  const size_t field = d == Direction::outbound ? ip6::kSrcOffset : ip6::kDstOffset;
  Address a = Address::from(b.data() + field);
  const Mapping* m = t.match(a, d);
  const bool nd_or_mld = v.has_l4 && v.upper == ip6::kIcmpv6 && icmp6::is_nd_or_mld(v.icmp_type);
  if (m != nullptr && nd_or_mld && d == Direction::outbound && !icmp6::is_link_scoped(v.src(), v.dst())) {
    c.add(Counter::drop_nd_mld_off_link);  // RFC 4861 s6.1/s7.1: it would leave with the inside address
    return Verdict::drop(Counter::drop_nd_mld_off_link, 0, m->index);
  }
  if (m == nullptr || nd_or_mld) {
    c.add(Counter::not_ours);
    return Verdict::pass();
  }
  if (Counter r = map_address(*m, d, a); r != Counter::count_) {
    c.add(r);
    return Verdict::drop(r, static_cast<uint8_t>(field), m->index);
  }
  a.store(b.data() + field);
  const Counter what = d == Direction::outbound ? Counter::nptv6_outbound : Counter::nptv6_inbound;
  c.add(what);
  return Verdict{Action::translated, what, m->index, 0};
}

bool same(const Verdict& a, const Verdict& b) {
  return a.action == b.action && a.reason == b.reason && a.mapping == b.mapping && a.pointer == b.pointer;
}

TEST(Nptv6Matched, EqualsTranslateNptv6AndTheGeneralPath) {
  const auto one = test::table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  const auto several = test::table({{"fd01:203:405::/48", "2001:db8:1::/48"},
                                    {"fd00:1:2:3::/64", "2001:db8:a:b::/64"},
                                    {"fd77:1:2:300::/56", "2001:db8:77:1200::/56"}});
  const auto addrs = pool();
  std::mt19937 rng(6296);
  size_t translated = 0, checked_against_reference = 0;
  for (const auto* table : {one.get(), several.get()}) {
    for (Direction d : {Direction::outbound, Direction::inbound}) {
      std::vector<Bytes> single, batched;
      for (int i = 0; i < 400; ++i) single.push_back(random_packet(rng, addrs));
      batched = single;
      std::vector<Verdict> verdicts(batched.size());
      CounterBlock cs, cb;
      for (size_t i = 0; i < batched.size(); ++i) {
        // What the dispatch does: match the translated address once, then hand the mapping over.
        Bytes& b = batched[i];
        const Mapping* m = b.size() >= ip6::kHeaderLen && (b[0] >> 4) == 6
                               ? table->match(Address::from(b.data() + (d == Direction::outbound ? ip6::kSrcOffset
                                                                                                 : ip6::kDstOffset)),
                                              d)
                               : nullptr;
        if (m != nullptr) {
          verdicts[i] = translate_nptv6_matched(*table, *m, d, b.data(), b.size(), cb);
        } else {
          verdicts[i] = translate_nptv6(*table, d, b.data(), b.size(), cb);
        }
      }
      for (size_t i = 0; i < single.size(); ++i) {
        Bytes original = single[i];
        Verdict v = translate_nptv6(*table, d, single[i].data(), single[i].size(), cs);
        ASSERT_TRUE(same(v, verdicts[i])) << "packet " << i;
        ASSERT_EQ(single[i], batched[i]) << "packet " << i;
        if (v.action != Action::translated) {
          EXPECT_EQ(single[i], original) << "a refusal changed packet " << i;
        }
        translated += v.action == Action::translated;
        // Packets the general path handles without the embedded-packet step: compare with it too.
        PacketView view;
        Counter why;
        Bytes again = original;
        bool simple = !parse_packet(again.data(), again.size(), view, why) ||
                      (view.l4 == ip6::kHeaderLen && !view.is_icmp_error());
        if (simple) {
          CounterBlock scratch;
          Verdict r = reference(*table, d, again, scratch);
          EXPECT_TRUE(same(v, r)) << "packet " << i << ": fast path " << static_cast<int>(v.reason)
                                  << ", general path " << static_cast<int>(r.reason);
          EXPECT_EQ(single[i], again) << "packet " << i;
          ++checked_against_reference;
        }
      }
      for (size_t k = 0; k < kCounterCount; ++k)
        EXPECT_EQ(cs.v[k].load(), cb.v[k].load()) << kCounterInfo[k].name;
    }
  }
  EXPECT_GT(translated, 100u);  // the mix really exercises translation, not only refusals (112 with this seed)
  EXPECT_GT(checked_against_reference, 800u);
}

}  // namespace
}  // namespace npt66
