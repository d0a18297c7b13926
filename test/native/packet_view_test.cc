// The bounds-checked packet view on crafted packets: each protocol and extension header, malformed chains,
// every truncation of a valid packet, and the lenient parsing of a packet embedded in an ICMPv6 error.
// Buffers are exact-size heap copies, so a sanitizer build catches any read past the end.
#include "packet_view.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>

#include "packet_builder.h"

namespace npt66 {
namespace {

using test::addr;
using test::build_ipv6;
using test::Bytes;
using test::Ext;

const Address kSrc = addr("fd00:1:2:3::10");
const Address kDst = addr("2001:db8:5::20");

std::string name(Counter c) { return std::string(kCounterInfo[static_cast<size_t>(c)].name); }

struct Parsed {
  std::unique_ptr<uint8_t[]> buf;  // exactly the packet's size
  PacketView v;
  bool ok = false;
  std::string why;  // drop counter name, or "ok"
};

Parsed parse(const uint8_t* p, size_t len, bool embedded = false) {
  Parsed r;
  r.buf = std::make_unique<uint8_t[]>(len ? len : 1);
  if (len) std::memcpy(r.buf.get(), p, len);
  Counter why = Counter::count_;
  r.ok = embedded ? parse_embedded(r.buf.get(), len, r.v, why) : parse_packet(r.buf.get(), len, r.v, why);
  r.why = r.ok ? "ok" : name(why);
  return r;
}
Parsed parse(const Bytes& b, bool embedded = false) { return parse(b.data(), b.size(), embedded); }

void set_payload_length(Bytes& b, size_t n) {
  b[4] = static_cast<uint8_t>(n >> 8);
  b[5] = static_cast<uint8_t>(n);
}

// --- plain upper layers ---

TEST(PacketView, PlainTcpUdpIcmp) {
  test::Packet t = build_ipv6(kSrc, kDst, test::tcp(40000, 443, Bytes(100, 'x')));
  Parsed p = parse(t.bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kTcp);
  EXPECT_TRUE(p.v.has_l4);
  EXPECT_EQ(p.v.l4, 40u);
  EXPECT_EQ(p.v.len, 40u + 20 + 100);
  EXPECT_EQ(p.v.l4_len(), 120u);
  EXPECT_FALSE(p.v.fragment);
  EXPECT_EQ(p.v.src(), kSrc);
  EXPECT_EQ(p.v.dst(), kDst);
  EXPECT_FALSE(p.v.is_icmp_error());

  Parsed u = parse(build_ipv6(kSrc, kDst, test::udp(5353, 53, Bytes(3, 'q'))).bytes);
  ASSERT_EQ(u.why, "ok");
  EXPECT_EQ(u.v.upper, ip6::kUdp);
  EXPECT_EQ(u.v.l4, 40u);
  EXPECT_EQ(u.v.l4_len(), 11u);

  Parsed e = parse(build_ipv6(kSrc, kDst, test::echo_request(1, 2)).bytes);
  ASSERT_EQ(e.why, "ok");
  EXPECT_EQ(e.v.upper, ip6::kIcmpv6);
  EXPECT_EQ(e.v.icmp_type, 128);
  EXPECT_EQ(e.v.icmp_code, 0);
  EXPECT_FALSE(e.v.is_icmp_error());

  Parsed err = parse(build_ipv6(kSrc, kDst, test::icmp6_error(icmp6::kTimeExceeded, 1, 0, t.bytes)).bytes);
  ASSERT_EQ(err.why, "ok");
  EXPECT_EQ(err.v.icmp_type, 3);
  EXPECT_EQ(err.v.icmp_code, 1);
  EXPECT_TRUE(err.v.is_icmp_error());
}

TEST(PacketView, TrailingBytesBeyondPayloadLengthAreIgnored) {
  Bytes b = build_ipv6(kSrc, kDst, test::udp(1, 2, Bytes(4, 0))).bytes;
  size_t real = b.size();
  b.resize(real + 14, 0xEE);  // e.g. link-layer padding
  Parsed p = parse(b);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.len, real);
  EXPECT_EQ(p.v.l4_len(), 12u);
}

// --- extension headers one by one ---

TEST(PacketView, HopByHop) {
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::hop_by_hop(16)}, test::udp(1, 2)).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kUdp);
  EXPECT_EQ(p.v.l4, 56u);
  EXPECT_TRUE(p.v.has_l4);
}

TEST(PacketView, Routing) {
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::routing({addr("2001:db8::99")})}, test::tcp(1, 2)).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kTcp);
  EXPECT_EQ(p.v.l4, 40u + 8 + 16);
}

TEST(PacketView, FirstFragmentHasTheUpperLayer) {
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::fragment(0, true)}, test::tcp(1, 2, Bytes(64, 1))).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_TRUE(p.v.fragment);
  EXPECT_TRUE(p.v.has_l4);
  EXPECT_EQ(p.v.upper, ip6::kTcp);
  EXPECT_EQ(p.v.l4, 48u);
}

TEST(PacketView, LaterFragmentHasNoUpperLayer) {
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::fragment(185, false)}, test::opaque(ip6::kIcmpv6, Bytes(40, 7))).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_TRUE(p.v.fragment);
  EXPECT_FALSE(p.v.has_l4);
  EXPECT_EQ(p.v.upper, ip6::kIcmpv6);  // the protocol of the fragmented payload
  EXPECT_FALSE(p.v.is_icmp_error()) << "bytes of a later fragment must not be read as an ICMPv6 header";
}

TEST(PacketView, DestinationOptions) {
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::dest_opts(24)}, test::echo_request(3, 4)).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kIcmpv6);
  EXPECT_EQ(p.v.l4, 64u);
  EXPECT_EQ(p.v.icmp_type, 128);
}

TEST(PacketView, AuthenticationHeaderLengthIsIn4OctetUnits) {
  // RFC 4302 s2.2: payload length = (length in 4-octet units) - 2; 12 fixed + 12 ICV = 24 bytes.
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::auth_header(12)}, test::udp(1, 2)).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kUdp);
  EXPECT_EQ(p.v.l4, 64u);
  Parsed q = parse(build_ipv6(kSrc, kDst, {test::auth_header(4)}, test::udp(1, 2)).bytes);
  ASSERT_EQ(q.why, "ok");
  EXPECT_EQ(q.v.l4, 56u);
}

TEST(PacketView, UnknownEspAndNoNextAreOpaque) {
  Parsed u = parse(build_ipv6(kSrc, kDst, test::opaque(253)).bytes);
  ASSERT_EQ(u.why, "ok");
  EXPECT_EQ(u.v.upper, 253);
  EXPECT_EQ(u.v.l4, 40u);
  EXPECT_TRUE(u.v.has_l4);

  Parsed esp = parse(build_ipv6(kSrc, kDst, {test::dest_opts()}, test::opaque(ip6::kEsp, Bytes(32, 9))).bytes);
  ASSERT_EQ(esp.why, "ok");
  EXPECT_EQ(esp.v.upper, ip6::kEsp);
  EXPECT_FALSE(esp.v.has_l4);

  Parsed none = parse(build_ipv6(kSrc, kDst, {test::hop_by_hop()}, test::opaque(ip6::kNoNext, Bytes(8, 0))).bytes);
  ASSERT_EQ(none.why, "ok");
  EXPECT_EQ(none.v.upper, ip6::kNoNext);
  EXPECT_FALSE(none.v.has_l4);
}

TEST(PacketView, FullChainInRfc8200Order) {
  std::vector<Ext> chain = {test::hop_by_hop(), test::dest_opts(), test::routing({addr("2001:db8::1")}),
                            test::fragment(0, true), test::auth_header(), test::dest_opts(16)};
  Parsed p = parse(build_ipv6(kSrc, kDst, chain, test::udp(7, 8, Bytes(5, 5))).bytes);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kUdp);
  EXPECT_EQ(p.v.l4, 40u + 8 + 8 + 24 + 8 + 24 + 16);
  EXPECT_TRUE(p.v.fragment);
}

// --- malformed chains ---

TEST(PacketView, HopByHopNotFirstIsMalformed) {
  // RFC 8200 s4.1: hop-by-hop options only immediately after the IPv6 header.
  Parsed p = parse(build_ipv6(kSrc, kDst, {test::dest_opts(), test::hop_by_hop()}, test::udp(1, 2)).bytes);
  EXPECT_EQ(p.why, "drop_bad_ext_header");
  Parsed twice = parse(build_ipv6(kSrc, kDst, {test::hop_by_hop(), test::hop_by_hop()}, test::udp(1, 2)).bytes);
  EXPECT_EQ(twice.why, "drop_bad_ext_header");
}

TEST(PacketView, AtMostEightExtensionHeaders) {
  std::vector<Ext> eight(8, test::dest_opts());
  Parsed ok = parse(build_ipv6(kSrc, kDst, eight, test::tcp(1, 2)).bytes);
  ASSERT_EQ(ok.why, "ok") << "8 extension headers are within the limit (counters.def: 'longer than 8 headers')";
  EXPECT_EQ(ok.v.l4, 40u + 64);
  EXPECT_EQ(ok.v.upper, ip6::kTcp);
  std::vector<Ext> nine(9, test::dest_opts());
  EXPECT_EQ(parse(build_ipv6(kSrc, kDst, nine, test::tcp(1, 2)).bytes).why, "drop_bad_ext_header");
}

TEST(PacketView, ExtensionHeaderLongerThanThePacket) {
  Bytes b = build_ipv6(kSrc, kDst, {test::dest_opts()}, test::udp(1, 2)).bytes;
  b[41] = 10;  // claims 88 bytes
  EXPECT_EQ(parse(b).why, "drop_bad_ext_header");
}

TEST(PacketView, IcmpShorterThanItsTypeAndCode) {
  Bytes b = build_ipv6(kSrc, kDst, test::opaque(ip6::kIcmpv6, Bytes(3, 0x80))).bytes;
  EXPECT_EQ(parse(b).why, "drop_truncated");
}

// --- the fixed header ---

TEST(PacketView, ShorterThanTheFixedHeader) {
  Bytes b = build_ipv6(kSrc, kDst, test::udp(1, 2)).bytes;
  for (size_t n = 0; n < 40; ++n) EXPECT_EQ(parse(b.data(), n).why, "drop_truncated") << n;
  EXPECT_EQ(parse(nullptr, 0).why, "drop_truncated");
}

TEST(PacketView, PayloadLengthBeyondTheBuffer) {
  Bytes b = build_ipv6(kSrc, kDst, test::udp(1, 2, Bytes(10, 0))).bytes;
  set_payload_length(b, b.size() - 40 + 1);
  EXPECT_EQ(parse(b).why, "drop_truncated");
  set_payload_length(b, 0xFFFF);
  EXPECT_EQ(parse(b).why, "drop_truncated");
}

TEST(PacketView, NotVersion6) {
  Bytes b = build_ipv6(kSrc, kDst, test::udp(1, 2)).bytes;
  for (uint8_t version : {0, 4, 5, 7, 15}) {
    b[0] = static_cast<uint8_t>(version << 4);
    EXPECT_EQ(parse(b).why, "drop_not_ipv6") << int(version);
    EXPECT_EQ(parse(b, true).why, "drop_not_ipv6") << int(version);
  }
}

TEST(PacketView, JumbogramIsRefused) {
  // RFC 2675: payload length 0 and a Jumbo Payload option (type 0xC2) in hop-by-hop.
  Ext hbh = test::hop_by_hop(8);
  hbh.bytes[2] = 0xC2, hbh.bytes[3] = 4;
  hbh.bytes[4] = 0, hbh.bytes[5] = 1, hbh.bytes[6] = 0, hbh.bytes[7] = 0x10;
  Bytes b = build_ipv6(kSrc, kDst, {hbh}, test::udp(1, 2)).bytes;
  set_payload_length(b, 0);
  EXPECT_EQ(parse(b).why, "drop_jumbogram");
}

// --- every truncation of valid packets ---

std::vector<test::Packet> valid_packets() {
  test::Packet inner = build_ipv6(kDst, kSrc, test::tcp(443, 40000, Bytes(30, 'i')));
  return {
      build_ipv6(kSrc, kDst, {test::hop_by_hop(), test::routing({addr("2001:db8::1")}), test::fragment(0, true),
                              test::dest_opts()},
                 test::tcp(1, 2, Bytes(17, 't'))),
      build_ipv6(kSrc, kDst, {test::auth_header()}, test::udp(1, 2, Bytes(9, 'u'))),
      build_ipv6(kSrc, kDst, {test::dest_opts(16)}, test::icmp6_error(icmp6::kPacketTooBig, 0, 1280, inner.bytes)),
      build_ipv6(kSrc, kDst, {test::fragment(8, true)}, test::opaque(ip6::kUdp, Bytes(24, 3))),
  };
}

TEST(PacketView, EveryTruncationGetsANamedVerdict) {
  for (const test::Packet& full : valid_packets()) {
    ASSERT_EQ(parse(full.bytes).why, "ok");
    for (size_t n = 0; n < full.bytes.size(); ++n) {
      SCOPED_TRACE(::testing::Message() << "cut at " << n << " of " << full.bytes.size());
      // (a) the header still claims the whole payload: always too short.
      EXPECT_EQ(parse(full.bytes.data(), n).why, "drop_truncated");
      // (b) the payload length agrees with the cut: the chain or the upper layer is what is short.
      if (n < 40) continue;
      Bytes cut(full.bytes.begin(), full.bytes.begin() + static_cast<std::ptrdiff_t>(n));
      set_payload_length(cut, n - 40);
      Parsed p = parse(cut);
      if (n == 40) {
        EXPECT_EQ(p.why, "drop_jumbogram");
      } else if (n < full.l4) {
        EXPECT_EQ(p.why, "drop_bad_ext_header");
      } else if (full.proto == ip6::kIcmpv6 && n < full.l4 + 4) {
        EXPECT_EQ(p.why, "drop_truncated");
      } else {
        ASSERT_EQ(p.why, "ok");
        EXPECT_EQ(p.v.len, n);
        if (p.v.has_l4) { EXPECT_LE(p.v.l4, n); }
      }
    }
  }
}

// --- packets embedded in ICMPv6 errors ---

TEST(PacketView, EmbeddedPacketCutShortStillParses) {
  test::Packet inner = build_ipv6(kSrc, kDst, {test::hop_by_hop(), test::dest_opts()}, test::tcp(1, 2, Bytes(1000, 0)));
  // Quoted in full up to the TCP ports, the payload length still claims ~1 kB.
  Parsed p = parse(inner.bytes.data(), inner.l4 + 4, true);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.upper, ip6::kTcp);
  EXPECT_TRUE(p.v.has_l4);
  EXPECT_EQ(p.v.l4, 56u);
  EXPECT_EQ(p.v.len, inner.l4 + 4);
  EXPECT_EQ(p.v.dst(), kDst);

  // Cut inside the chain: the view ends where the bytes end, no upper layer.
  Parsed mid = parse(inner.bytes.data(), 50, true);
  ASSERT_EQ(mid.why, "ok");
  EXPECT_FALSE(mid.v.has_l4);
  EXPECT_EQ(mid.v.upper, ip6::kDestOpts);

  // Only the fixed header.
  Parsed bare = parse(inner.bytes.data(), 40, true);
  ASSERT_EQ(bare.why, "ok");
  EXPECT_FALSE(bare.v.has_l4);

  // Not even the fixed header.
  for (size_t n = 0; n < 40; ++n) EXPECT_EQ(parse(inner.bytes.data(), n, true).why, "drop_icmp_inner_truncated");

  // An embedded ICMPv6 header cut before its type/code: no upper layer, not an error.
  test::Packet echo = build_ipv6(kSrc, kDst, test::echo_request(1, 1));
  Parsed e = parse(echo.bytes.data(), 42, true);
  ASSERT_EQ(e.why, "ok");
  EXPECT_FALSE(e.v.has_l4);
}

TEST(PacketView, EmbeddedPacketLongerThanItsPayloadLengthIsClipped) {
  Bytes b = build_ipv6(kSrc, kDst, test::udp(1, 2, Bytes(4, 0))).bytes;
  size_t real = b.size();
  b.resize(real + 8, 0);
  Parsed p = parse(b, true);
  ASSERT_EQ(p.why, "ok");
  EXPECT_EQ(p.v.len, real);
}

TEST(PacketView, EveryTruncationOfAnEmbeddedPacket) {
  for (const test::Packet& full : valid_packets()) {
    const bool full_has_l4 = parse(full.bytes).v.has_l4;  // false for the later fragment
    for (size_t n = 0; n <= full.bytes.size(); ++n) {
      SCOPED_TRACE(::testing::Message() << "cut at " << n << " of " << full.bytes.size());
      Parsed p = parse(full.bytes.data(), n, true);
      if (n < 40) {
        EXPECT_EQ(p.why, "drop_icmp_inner_truncated");
        continue;
      }
      ASSERT_EQ(p.why, "ok");
      EXPECT_EQ(p.v.len, n);
      // The upper layer is seen once its header starts (ICMPv6: once type and code are there).
      size_t needed = full.l4 + (full.proto == ip6::kIcmpv6 ? 4 : 0);
      EXPECT_EQ(p.v.has_l4, full_has_l4 && n >= needed);
      if (p.v.has_l4) { EXPECT_EQ(p.v.l4, full.l4); }
    }
  }
}

// --- random bytes: never a crash, always a named verdict ---

TEST(PacketView, RandomInputNeverCrashes) {
  std::mt19937_64 rng(0x8200);
  const std::vector<uint8_t> next_headers = {0, 6, 17, 43, 44, 50, 51, 58, 59, 60, 135, 139, 140, 253};
  size_t ok = 0;
  for (int i = 0; i < 50000; ++i) {
    size_t len = rng() % 200;
    Bytes b(len);
    for (auto& x : b) {
      uint64_t r = rng();
      x = r % 3 == 0 ? next_headers[r / 3 % next_headers.size()] : static_cast<uint8_t>(r >> 8);
    }
    if (len > 0) b[0] = static_cast<uint8_t>(0x60 | (b[0] & 0x0F));
    if (len >= 40 && rng() % 2) set_payload_length(b, len - 40);  // a consistent length reaches the chain walk
    for (bool embedded : {false, true}) {
      Parsed p = parse(b, embedded);
      if (p.ok) {
        ++ok;
        ASSERT_LE(p.v.len, len);
        if (p.v.has_l4) { ASSERT_LE(p.v.l4, p.v.len); }
      } else {
        static const std::set<std::string> kParseDrops = {"drop_truncated", "drop_bad_ext_header", "drop_jumbogram",
                                                          "drop_icmp_inner_truncated"};
        ASSERT_TRUE(kParseDrops.count(p.why)) << p.why;
      }
    }
  }
  EXPECT_GT(ok, 1000u);  // the generator reaches the parser's inner paths, not only the length checks
}

}  // namespace
}  // namespace npt66
