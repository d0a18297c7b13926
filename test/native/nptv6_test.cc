// NPTv6 packet translation on crafted packets. The expected packet is built from scratch with the hand-computed
// translated addresses (packet_builder.h computes its checksums independently): since NPTv6 is checksum-neutral,
// the translated packet must equal it byte for byte, and only address bytes may differ from the original.
#include "nptv6.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "packet_builder.h"

namespace npt66 {
namespace {

using test::addr;
using test::build_ipv6;
using test::Bytes;
using test::Ext;
using test::L4;

constexpr Direction kOut = Direction::outbound;
constexpr Direction kIn = Direction::inbound;

// Mapping 0: the RFC 6296 s3.6 worked example. Mapping 1: a /64 pair (adjustment 0xCF38).
std::shared_ptr<const PrefixTable> two_mappings() {
  return test::table({{"fd01:203:405::/48", "2001:db8:1::/48"}, {"fd00:1:2:3::/64", "2001:db8:a:b::/64"}});
}

const Address kHost = addr("fd01:203:405:1::1234");         // inside host
const Address kHostOutside = addr("2001:db8:1:d550::1234");  // its outside address (s3.6)
const Address kHost64 = addr("fd00:1:2:3::5");               // inside host of mapping 1
const Address kHost64Outside = addr("2001:db8:a:b:cf38::5");
const Address kRemote = addr("2001:db8:5::20");  // a host on the Internet
const Address kRouter = addr("2001:db8:99::1");  // a router beyond the gateway

std::string name(Counter c) { return std::string(kCounterInfo[static_cast<size_t>(c)].name); }

struct Result {
  Verdict v;
  Bytes after;
  CounterBlock counters;
};

std::unique_ptr<Result> run(const PrefixTable& t, Direction d, const Bytes& in) {
  auto r = std::make_unique<Result>();
  auto buf = std::make_unique<uint8_t[]>(in.size() ? in.size() : 1);  // exact size: a sanitizer sees overreads
  std::memcpy(buf.get(), in.data(), in.size());
  r->v = translate_nptv6(t, d, buf.get(), in.size(), r->counters);
  r->after.assign(buf.get(), buf.get() + in.size());
  return r;
}

// Every counter is zero except those listed, which have exactly the given values.
void expect_counters(const CounterBlock& c, const std::map<Counter, uint64_t>& want) {
  for (size_t i = 0; i < kCounterCount; ++i) {
    auto it = want.find(static_cast<Counter>(i));
    EXPECT_EQ(c.get(static_cast<Counter>(i)), it == want.end() ? 0u : it->second) << kCounterInfo[i].name;
  }
}

// Offsets where a and b differ must all lie in one of the 16-byte address fields starting at `allowed`.
void expect_only_addresses_changed(const Bytes& a, const Bytes& b, std::vector<size_t> allowed) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    bool ok = false;
    for (size_t f : allowed) ok |= i >= f && i < f + 16;
    EXPECT_TRUE(ok) << "byte " << i << " changed outside the address fields";
  }
}

void expect_translated(const Result& r, Direction d, uint32_t mapping) {
  EXPECT_EQ(r.v.action, Action::translated);
  EXPECT_EQ(name(r.v.reason), d == kOut ? "nptv6_outbound" : "nptv6_inbound");
  EXPECT_EQ(r.v.mapping, mapping);
  EXPECT_EQ(r.v.pointer, 0);
  EXPECT_EQ(r.v.answer, IcmpAnswer::none);
}

void expect_dropped_unchanged(const Result& r, const Bytes& before, Counter why, uint8_t pointer) {
  EXPECT_EQ(r.v.action, Action::drop);
  EXPECT_EQ(name(r.v.reason), name(why));
  EXPECT_EQ(r.v.pointer, pointer);
  // The verdict carries its answer: a refusal naming an address gets Parameter Problem, nothing else does.
  EXPECT_EQ(r.v.answer, pointer != 0 ? IcmpAnswer::param_problem : IcmpAnswer::none);
  EXPECT_EQ(r.after, before) << "a refused packet must be left byte for byte unchanged";
  expect_counters(r.counters, {{why, 1}});
}

struct ProtoCase {
  const char* label;
  std::vector<Ext> exts;
  L4 l4;
};

std::vector<ProtoCase> protocol_cases() {
  return {
      {"tcp", {}, test::tcp(40000, 443, Bytes(33, 't'))},
      {"udp", {}, test::udp(5353, 53, Bytes(12, 'u'))},
      {"icmpv6 echo", {}, test::echo_request(0x1234, 1)},
      {"icmpv6 echo reply", {}, test::icmp6(icmp6::kEchoReply, 0, 0x12340001, {'x'})},
      {"tcp with hop-by-hop and destination options", {test::hop_by_hop(), test::dest_opts(16)}, test::tcp(1, 2)},
      {"udp with routing header", {test::routing({addr("2001:db8:77::1")})}, test::udp(1, 2, Bytes(7, 1))},
      {"udp first fragment", {test::fragment(0, true)}, test::udp(1, 2, Bytes(64, 2))},
      {"later fragment", {test::fragment(100, false)}, test::opaque(ip6::kUdp, Bytes(48, 3))},
      {"AH", {test::auth_header()}, test::tcp(1, 2)},
      {"ESP", {}, test::opaque(ip6::kEsp, Bytes(40, 4))},
      {"unknown protocol", {}, test::opaque(253, Bytes(16, 5))},
  };
}

// --- each protocol, both directions ---

TEST(Nptv6, OutboundRewritesOnlyTheSource) {
  auto t = two_mappings();
  for (const ProtoCase& c : protocol_cases()) {
    SCOPED_TRACE(c.label);
    test::Packet before = build_ipv6(kHost, kRemote, c.exts, c.l4);
    auto r = run(*t, kOut, before.bytes);
    expect_translated(*r, kOut, 0);
    expect_counters(r->counters, {{Counter::nptv6_outbound, 1}});
    EXPECT_EQ(r->after, build_ipv6(kHostOutside, kRemote, c.exts, c.l4).bytes);
    expect_only_addresses_changed(before.bytes, r->after, {8});
    if (before.checksum_at >= 0) {
      EXPECT_EQ(test::read16(r->after, before.checksum_at), test::read16(before.bytes, before.checksum_at));
      EXPECT_TRUE(test::l4_checksum_ok(r->after, before.l4, before.proto)) << "checksum no longer verifies";
    }
  }
}

TEST(Nptv6, InboundRewritesOnlyTheDestination) {
  auto t = two_mappings();
  for (const ProtoCase& c : protocol_cases()) {
    SCOPED_TRACE(c.label);
    test::Packet before = build_ipv6(kRemote, kHost64Outside, c.exts, c.l4);
    auto r = run(*t, kIn, before.bytes);
    expect_translated(*r, kIn, 1);
    expect_counters(r->counters, {{Counter::nptv6_inbound, 1}});
    EXPECT_EQ(r->after, build_ipv6(kRemote, kHost64, c.exts, c.l4).bytes);
    expect_only_addresses_changed(before.bytes, r->after, {24});
    if (before.checksum_at >= 0) {
      EXPECT_EQ(test::read16(r->after, before.checksum_at), test::read16(before.bytes, before.checksum_at));
      EXPECT_TRUE(test::l4_checksum_ok(r->after, before.l4, before.proto));
    }
  }
}

TEST(Nptv6, OutboundLeavesTheDestinationAloneEvenIfItIsOurs) {
  // Hairpin: the destination is the outside address of another inside host; outbound only maps the source.
  auto t = two_mappings();
  Bytes before = build_ipv6(kHost, kHost64Outside, test::udp(1, 2)).bytes;
  auto r = run(*t, kOut, before);
  expect_translated(*r, kOut, 0);
  EXPECT_EQ(r->after, build_ipv6(kHostOutside, kHost64Outside, test::udp(1, 2)).bytes);
}

// --- ICMPv6 errors (rfc6296-bis s3.8) ---

struct ErrorCase {
  uint8_t type, code;
  uint32_t param;
  std::vector<Ext> outer_exts, inner_exts;
  size_t max_quote;
};

std::vector<ErrorCase> error_cases() {
  return {
      {icmp6::kDestUnreachable, 4, 0, {}, {}, 1232},
      {icmp6::kPacketTooBig, 0, 1280, {}, {}, 1232},
      {icmp6::kTimeExceeded, 0, 0, {}, {}, 1232},
      {icmp6::kParamProblem, 0, 42, {}, {}, 1232},
      {icmp6::kDestUnreachable, 1, 0, {test::dest_opts()}, {test::hop_by_hop(), test::dest_opts()}, 1232},
      {icmp6::kPacketTooBig, 0, 1400, {test::hop_by_hop(16)}, {test::fragment(0, true)}, 1232},
      {icmp6::kTimeExceeded, 1, 0, {test::routing()}, {test::routing({addr("2001:db8:77::1")})}, 52},
      {icmp6::kParamProblem, 1, 40, {}, {test::dest_opts(24)}, 40},  // exactly the inner fixed header
  };
}

TEST(Nptv6, OutboundErrorTranslatesTheEmbeddedDestination) {
  // The inside host answers a packet it received from kRemote (addressed to it after inbound translation).
  auto t = two_mappings();
  for (const ErrorCase& e : error_cases()) {
    SCOPED_TRACE(::testing::Message() << "type " << int(e.type) << " code " << int(e.code) << " quote " << e.max_quote);
    Bytes inner = build_ipv6(kRemote, kHost, e.inner_exts, test::udp(53, 5353, Bytes(1500, 'd'))).bytes;
    Bytes inner_after = build_ipv6(kRemote, kHostOutside, e.inner_exts, test::udp(53, 5353, Bytes(1500, 'd'))).bytes;
    test::Packet before = build_ipv6(kHost, kRemote, e.outer_exts, test::icmp6_error(e.type, e.code, e.param, inner, e.max_quote));
    auto r = run(*t, kOut, before.bytes);
    expect_translated(*r, kOut, 0);
    expect_counters(r->counters, {{Counter::nptv6_outbound, 1}, {Counter::nptv6_icmp_error_outbound, 1}});
    Bytes want = build_ipv6(kHostOutside, kRemote, e.outer_exts, test::icmp6_error(e.type, e.code, e.param, inner_after, e.max_quote)).bytes;
    EXPECT_EQ(r->after, want);
    size_t inner_at = before.l4 + 8;
    expect_only_addresses_changed(before.bytes, r->after, {8, inner_at + 24});
    EXPECT_EQ(test::read16(r->after, before.checksum_at), test::read16(before.bytes, before.checksum_at));
    EXPECT_TRUE(test::l4_checksum_ok(r->after, before.l4, ip6::kIcmpv6));
  }
}

TEST(Nptv6, InboundErrorTranslatesTheEmbeddedSource) {
  // A router beyond the gateway reports on a packet the inside host sent (with its outside source).
  auto t = two_mappings();
  for (const ErrorCase& e : error_cases()) {
    SCOPED_TRACE(::testing::Message() << "type " << int(e.type) << " code " << int(e.code) << " quote " << e.max_quote);
    Bytes inner = build_ipv6(kHost64Outside, kRemote, e.inner_exts, test::tcp(40000, 443, Bytes(1500, 'p'))).bytes;
    Bytes inner_after = build_ipv6(kHost64, kRemote, e.inner_exts, test::tcp(40000, 443, Bytes(1500, 'p'))).bytes;
    test::Packet before = build_ipv6(kRouter, kHost64Outside, e.outer_exts, test::icmp6_error(e.type, e.code, e.param, inner, e.max_quote));
    auto r = run(*t, kIn, before.bytes);
    expect_translated(*r, kIn, 1);
    expect_counters(r->counters, {{Counter::nptv6_inbound, 1}, {Counter::nptv6_icmp_error_inbound, 1}});
    Bytes want = build_ipv6(kRouter, kHost64, e.outer_exts, test::icmp6_error(e.type, e.code, e.param, inner_after, e.max_quote)).bytes;
    EXPECT_EQ(r->after, want);
    size_t inner_at = before.l4 + 8;
    expect_only_addresses_changed(before.bytes, r->after, {24, inner_at + 8});
    EXPECT_EQ(test::read16(r->after, before.checksum_at), test::read16(before.bytes, before.checksum_at));
    EXPECT_TRUE(test::l4_checksum_ok(r->after, before.l4, ip6::kIcmpv6));
  }
}

TEST(Nptv6, ErrorWhoseInnerAddressBelongsToAnotherMapping) {
  // An inside router of mapping 0 reports on a packet addressed to an inside host of mapping 1: each address
  // takes its own mapping; the verdict names the outer one.
  auto t = two_mappings();
  Bytes inner = build_ipv6(kRemote, kHost64, test::udp(1, 2)).bytes;
  Bytes before = build_ipv6(kHost, kRemote, test::icmp6_error(icmp6::kDestUnreachable, 3, 0, inner)).bytes;
  auto r = run(*t, kOut, before);
  expect_translated(*r, kOut, 0);
  Bytes inner_after = build_ipv6(kRemote, kHost64Outside, test::udp(1, 2)).bytes;
  EXPECT_EQ(r->after, build_ipv6(kHostOutside, kRemote, test::icmp6_error(icmp6::kDestUnreachable, 3, 0, inner_after)).bytes);
}

TEST(Nptv6, ErrorWithTooShortInnerIsDropped) {
  auto t = two_mappings();
  Bytes inner = build_ipv6(kRemote, kHost, test::udp(1, 2)).bytes;
  for (size_t quote : {0, 1, 24, 39}) {
    SCOPED_TRACE(quote);
    Bytes out = build_ipv6(kHost, kRemote, test::icmp6_error(icmp6::kTimeExceeded, 0, 0, inner, quote)).bytes;
    expect_dropped_unchanged(*run(*t, kOut, out), out, Counter::drop_icmp_inner_truncated, 0);
    Bytes inb = build_ipv6(kRouter, kHostOutside, test::icmp6_error(icmp6::kPacketTooBig, 0, 1280, inner, quote)).bytes;
    expect_dropped_unchanged(*run(*t, kIn, inb), inb, Counter::drop_icmp_inner_truncated, 0);
  }
}

TEST(Nptv6, ErrorWhoseInnerAddressIsNotOursIsDropped) {
  auto t = two_mappings();
  // Outbound: the embedded destination is not an inside address.
  Bytes inner = build_ipv6(kRemote, addr("fd99::1"), test::udp(1, 2)).bytes;
  Bytes out = build_ipv6(kHost, kRemote, test::icmp6_error(icmp6::kDestUnreachable, 4, 0, inner)).bytes;
  expect_dropped_unchanged(*run(*t, kOut, out), out, Counter::drop_icmp_inner_not_in_prefix, 0);
  // Inbound: the embedded source is not an outside address (here: still the inside one, i.e. never translated).
  Bytes inner2 = build_ipv6(kHost, kRemote, test::udp(1, 2)).bytes;
  Bytes inb = build_ipv6(kRouter, kHostOutside, test::icmp6_error(icmp6::kTimeExceeded, 0, 0, inner2)).bytes;
  expect_dropped_unchanged(*run(*t, kIn, inb), inb, Counter::drop_icmp_inner_not_in_prefix, 0);
  // The embedded header is not IPv6 at all.
  Bytes bogus = inner2;
  bogus[0] = 0x45;
  Bytes v4 = build_ipv6(kRouter, kHostOutside, test::icmp6_error(icmp6::kTimeExceeded, 0, 0, bogus)).bytes;
  expect_dropped_unchanged(*run(*t, kIn, v4), v4, Counter::drop_icmp_inner_not_in_prefix, 0);
}

TEST(Nptv6, ErrorWhoseInnerAddressIsRefusedIsDropped) {
  auto t = two_mappings();
  // The embedded destination is in the inside prefix but subnet 0xFFFF (s4.2): the whole error is refused,
  // with no pointer (RFC 4443 s2.4(e): no ICMPv6 error about an ICMPv6 error).
  Bytes inner = build_ipv6(kRemote, addr("fd01:203:405:ffff::1"), test::udp(1, 2)).bytes;
  Bytes out = build_ipv6(kHost, kRemote, test::icmp6_error(icmp6::kDestUnreachable, 0, 0, inner)).bytes;
  expect_dropped_unchanged(*run(*t, kOut, out), out, Counter::drop_subnet_ffff, 0);
}

TEST(Nptv6, InformationalIcmpIsNotTreatedAsAnError) {
  // An echo request carrying what looks like an IPv6 header must not have that "inner" address rewritten.
  auto t = two_mappings();
  Bytes fake_inner = build_ipv6(kRemote, kHost, test::udp(1, 2)).bytes;
  Bytes before = build_ipv6(kHost, kRemote, test::echo_request(1, 1, fake_inner)).bytes;
  auto r = run(*t, kOut, before);
  expect_translated(*r, kOut, 0);
  expect_counters(r->counters, {{Counter::nptv6_outbound, 1}});
  expect_only_addresses_changed(before, r->after, {8});
}

// --- never translated ---

// ND and MLD are never translated. Outbound from an inside source only link-scoped ones pass (RFC 4861 s6.1/s7.1):
// one to a routable destination is dropped unchanged (it would leave with the inside address). Inbound, ND to an
// outside address is the gateway's own business: passed untouched.
TEST(Nptv6, NeighborDiscoveryAndMldAreNeverTranslated) {
  auto t = two_mappings();
  for (uint8_t type : {133, 134, 135, 136, 137, 130, 131, 132, 143}) {
    SCOPED_TRACE(int(type));
    // MLD travels with a hop-by-hop Router Alert; ND without extension headers.
    std::vector<Ext> exts;
    if (type < 133 || type == 143) exts.push_back(test::hop_by_hop());
    const Bytes body(16, 0);
    Bytes off_link = build_ipv6(kHost, kRemote, exts, test::icmp6(type, 0, 0, body)).bytes;
    expect_dropped_unchanged(*run(*t, kOut, off_link), off_link, Counter::drop_nd_mld_off_link, 0);
    Bytes other_mapping = build_ipv6(kHost64, kRouter, exts, test::icmp6(type, 0, 0, body)).bytes;
    expect_dropped_unchanged(*run(*t, kOut, other_mapping), other_mapping, Counter::drop_nd_mld_off_link, 0);
    for (const char* dst : {"ff02::1:ff00:1234", "ff02::16", "fe80::1"}) {
      SCOPED_TRACE(dst);
      Bytes on_link = build_ipv6(kHost, addr(dst), exts, test::icmp6(type, 0, 0, body)).bytes;
      auto r = run(*t, kOut, on_link);
      EXPECT_EQ(r->v.action, Action::not_ours);
      EXPECT_EQ(r->after, on_link);
      expect_counters(r->counters, {{Counter::not_ours, 1}});
    }
    // Not from an inside source: not ours, whatever its destination.
    Bytes link_local = build_ipv6(addr("fe80::5"), kRemote, exts, test::icmp6(type, 0, 0, body)).bytes;
    EXPECT_EQ(run(*t, kOut, link_local)->v.action, Action::not_ours);
    Bytes in = build_ipv6(kRemote, kHostOutside, exts, test::icmp6(type, 0, 0, body)).bytes;
    auto ri = run(*t, kIn, in);
    EXPECT_EQ(ri->v.action, Action::not_ours);
    EXPECT_EQ(ri->after, in);
    expect_counters(ri->counters, {{Counter::not_ours, 1}});
  }
}

TEST(Nptv6, AddressesOutsideEveryPrefixAreNotOurs) {
  auto t = two_mappings();
  Bytes out = build_ipv6(addr("fd02::1"), kRemote, test::udp(1, 2)).bytes;
  auto r = run(*t, kOut, out);
  EXPECT_EQ(r->v.action, Action::not_ours);
  EXPECT_EQ(name(r->v.reason), "not_ours");
  EXPECT_EQ(r->after, out);
  expect_counters(r->counters, {{Counter::not_ours, 1}});
  // Inbound looks at the destination only: an outside source does not make a packet ours.
  Bytes in = build_ipv6(kHostOutside, kRemote, test::udp(1, 2)).bytes;
  auto ri = run(*t, kIn, in);
  EXPECT_EQ(ri->v.action, Action::not_ours);
  EXPECT_EQ(ri->after, in);
  // Link-local never matches (such prefixes cannot be configured).
  Bytes ll = build_ipv6(addr("fe80::1"), addr("fe80::2"), test::udp(1, 2)).bytes;
  EXPECT_EQ(run(*t, kOut, ll)->v.action, Action::not_ours);
}

// --- refusals ---

TEST(Nptv6, RefusalLeavesThePacketUnchangedAndPointsAtTheAddress) {
  auto t = two_mappings();
  Bytes out = build_ipv6(addr("fd01:203:405:ffff::1"), kRemote, test::tcp(1, 2)).bytes;
  auto r = run(*t, kOut, out);
  expect_dropped_unchanged(*r, out, Counter::drop_subnet_ffff, 8);
  EXPECT_EQ(r->v.mapping, 0u);

  Bytes in = build_ipv6(kRemote, addr("2001:db8:a:b:ffff:ffff:ffff:ffff"), test::udp(1, 2)).bytes;
  auto ri = run(*t, kIn, in);
  expect_dropped_unchanged(*ri, in, Counter::drop_iid_all_ones, 24);
  EXPECT_EQ(ri->v.mapping, 1u);

  Bytes any = build_ipv6(kRemote, addr("2001:db8:a:b:cf38::"), test::udp(1, 2)).bytes;  // -> fd00:1:2:3:: anycast
  expect_dropped_unchanged(*run(*t, kIn, any), any, Counter::drop_result_anycast, 24);

  // An error whose outer address is refused: dropped unchanged, embedded packet untouched too.
  Bytes inner = build_ipv6(kRemote, addr("fd01:203:405:ffff::1"), test::udp(1, 2)).bytes;
  Bytes err = build_ipv6(addr("fd01:203:405:ffff::1"), kRemote, test::icmp6_error(1, 0, 0, inner)).bytes;
  expect_dropped_unchanged(*run(*t, kOut, err), err, Counter::drop_subnet_ffff, 8);
}

TEST(Nptv6, RefusesOutsideTheZeroExtendedPrefix) {
  auto t = test::table({{"fd01:203:405::/48", "2001:db8:1:ab00::/56"}});
  Bytes out = build_ipv6(addr("fd01:203:405:1200::1"), kRemote, test::udp(1, 2)).bytes;
  expect_dropped_unchanged(*run(*t, kOut, out), out, Counter::drop_outside_mapped_range, 8);
}

TEST(Nptv6, MalformedPacketsAreDroppedByTheirParseReason) {
  auto t = two_mappings();
  Bytes good = build_ipv6(kHost, kRemote, test::udp(1, 2, Bytes(8, 0))).bytes;
  Bytes shorter(good.begin(), good.end() - 1);
  expect_dropped_unchanged(*run(*t, kOut, shorter), shorter, Counter::drop_truncated, 0);
  Bytes v4 = good;
  v4[0] = 0x45;
  expect_dropped_unchanged(*run(*t, kOut, v4), v4, Counter::drop_not_ipv6, 0);
  Bytes bad_chain = build_ipv6(kHost, kRemote, {test::dest_opts(), test::hop_by_hop()}, test::udp(1, 2)).bytes;
  expect_dropped_unchanged(*run(*t, kOut, bad_chain), bad_chain, Counter::drop_bad_ext_header, 0);
  Bytes tiny(20, 0x60);
  expect_dropped_unchanged(*run(*t, kOut, tiny), tiny, Counter::drop_truncated, 0);
}

TEST(Nptv6, CountersAccumulateExactly) {
  auto t = two_mappings();
  CounterBlock c;
  auto go = [&](Direction d, Bytes b) { return translate_nptv6(*t, d, b.data(), b.size(), c); };
  Bytes inner_in = build_ipv6(kHost64Outside, kRemote, test::udp(1, 2)).bytes;
  for (int i = 0; i < 3; ++i) go(kOut, build_ipv6(kHost, kRemote, test::udp(1, 2)).bytes);
  for (int i = 0; i < 2; ++i) go(kIn, build_ipv6(kRemote, kHostOutside, test::tcp(1, 2)).bytes);
  go(kIn, build_ipv6(kRouter, kHost64Outside, test::icmp6_error(3, 0, 0, inner_in)).bytes);
  go(kOut, build_ipv6(addr("fd01:203:405:ffff::1"), kRemote, test::udp(1, 2)).bytes);
  go(kOut, build_ipv6(addr("fd02::1"), kRemote, test::udp(1, 2)).bytes);
  go(kOut, Bytes(10, 0x60));
  expect_counters(c, {{Counter::nptv6_outbound, 3},
                      {Counter::nptv6_inbound, 3},
                      {Counter::nptv6_icmp_error_inbound, 1},
                      {Counter::drop_subnet_ffff, 1},
                      {Counter::not_ours, 1},
                      {Counter::drop_truncated, 1}});
}

}  // namespace
}  // namespace npt66
