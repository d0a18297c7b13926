// RFC 6296 address mapping and the prefix table: adjustment, word choice, 0xFFFF -> 0, end-around carry, every
// refusal, configuration errors and lookup across several pairs. Expected values are hand-computed (and checked
// with a separate mod-0xFFFF script), never produced by the code under test.
#include "prefix_map.h"

#include <gtest/gtest.h>

#include "packet_builder.h"

namespace npt66 {
namespace {

using test::addr;
using test::str;
using test::table;

constexpr Counter kOk = Counter::count_;

std::string name(Counter c) {
  return c == kOk ? "ok" : std::string(kCounterInfo[static_cast<size_t>(c)].name);
}

// Maps `from` through `t` in direction `d`; expects a match and success, returns the text of the result.
std::string map_ok(const PrefixTable& t, Direction d, const std::string& from) {
  Address a = addr(from);
  const Mapping* m = t.match(a, d);
  if (m == nullptr) return "no match";
  Counter c = map_address(*m, d, a);
  if (c != kOk) return "refused: " + name(c);
  return str(a);
}

// Expects a refusal for `why` and the address left unchanged.
void expect_refused(const PrefixTable& t, Direction d, const std::string& from, Counter why) {
  SCOPED_TRACE(from);
  Address a = addr(from);
  const Mapping* m = t.match(a, d);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(name(map_address(*m, d, a)), name(why));
  EXPECT_EQ(a, addr(from)) << "a refused address must be left unchanged";
}

constexpr Direction kOut = Direction::outbound;
constexpr Direction kIn = Direction::inbound;

// --- s3.1 adjustment and s3.6 worked example ---

TEST(PrefixMap, WorkedExampleAdjustmentIsD54F) {
  auto t = table({{"fd01:0203:0405::/48", "2001:0db8:0001::/48"}});
  ASSERT_EQ(t->mappings().size(), 1u);
  EXPECT_EQ(t->mappings()[0].adjustment, 0xD54F);
  EXPECT_EQ(t->mappings()[0].len, 48);
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405:1::1234"), "2001:db8:1:d550::1234");
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:1:d550::1234"), "fd01:203:405:1::1234");
}

TEST(PrefixMap, MixedLengthAdjustmentUsesZeroExtendedPrefixes) {
  // s3.7: /48 zero-extended to /56: sum(fd01,0203,0405,0000) - sum(2001,0db8,0001,ab00) = 0x030A - 0xD8BA = 0x2A4F.
  auto t = table({{"fd01:203:405::/48", "2001:db8:1:ab00::/56"}});
  EXPECT_EQ(t->mappings()[0].adjustment, 0x2A4F);
  EXPECT_EQ(t->mappings()[0].len, 56);
}

// --- s3.4 / s3.5 word choice ---

TEST(PrefixMap, UpTo48BitsTheSubnetWordTakesTheAdjustment) {
  auto t = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  // Word 3 even when the interface identifier is full of 0xFFFF words.
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405:1:ffff:ffff:ffff:fffe"), "2001:db8:1:d550:ffff:ffff:ffff:fffe");
  // A /40: still word 3 (s3.4 applies to every L <= 48); bits 40..47 pass through. Adjustment 0xD44B.
  auto t40 = table({{"fd01:203:400::/40", "2001:db8:100::/40"}});
  EXPECT_EQ(t40->mappings()[0].adjustment, 0xD44B);
  EXPECT_EQ(map_ok(*t40, kOut, "fd01:203:4ab:7::1"), "2001:db8:1ab:d452::1");
  EXPECT_EQ(map_ok(*t40, kIn, "2001:db8:1ab:d452::1"), "fd01:203:4ab:7::1");
}

TEST(PrefixMap, Over48BitsTheFirstWordOf4To7NotFFFFTakesIt) {
  auto t = table({{"fd00:1:2:3::/64", "2001:db8:a:b::/64"}});  // adjustment 0xCF38
  EXPECT_EQ(t->mappings()[0].adjustment, 0xCF38);
  EXPECT_EQ(map_ok(*t, kOut, "fd00:1:2:3::1"), "2001:db8:a:b:cf38::1");                           // word 4
  EXPECT_EQ(map_ok(*t, kOut, "fd00:1:2:3:ffff::1"), "2001:db8:a:b:ffff:cf38:0:1");                 // word 5
  EXPECT_EQ(map_ok(*t, kOut, "fd00:1:2:3:ffff:ffff:5:1"), "2001:db8:a:b:ffff:ffff:cf3d:1");        // word 6
  EXPECT_EQ(map_ok(*t, kOut, "fd00:1:2:3:ffff:ffff:ffff:1"), "2001:db8:a:b:ffff:ffff:ffff:cf39");  // word 7
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:a:b:ffff:ffff:ffff:cf39"), "fd00:1:2:3:ffff:ffff:ffff:1");
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:a:b:ffff:ffff:cf3d:1"), "fd00:1:2:3:ffff:ffff:5:1");
}

// --- s3.2 arithmetic: 0xFFFF -> 0x0000 and the end-around carry ---

TEST(PrefixMap, ResultFFFFIsWrittenAsZero) {
  auto t = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  // 0x2AB0 + 0xD54F = 0xFFFF -> 0x0000.
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405:2ab0::1234"), "2001:db8:1::1234");
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:1::1234"), "fd01:203:405:2ab0::1234");
  // Inbound: 0xD54F - 0xD54F = 0xFFFF -> 0x0000, and back.
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:1:d54f::1"), "fd01:203:405::1");
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405::1"), "2001:db8:1:d54f::1");
  // Over /48: word 4 becomes 0xFFFF -> 0 while word 7 keeps the IID non-zero.
  auto t64 = table({{"fd00:1:2:3::/64", "2001:db8:a:b::/64"}});
  EXPECT_EQ(map_ok(*t64, kOut, "fd00:1:2:3:30c7::1"), "2001:db8:a:b::1");
  EXPECT_EQ(map_ok(*t64, kIn, "2001:db8:a:b::1"), "fd00:1:2:3:30c7::1");
}

TEST(PrefixMap, EndAroundCarryIsKept) {
  auto t = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  // 0x3000 + 0xD54F = 0x1054F -> 0x0550 (losing the carry would give 0x054F).
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405:3000::1"), "2001:db8:1:550::1");
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:1:550::1"), "fd01:203:405:3000::1");
  // Inbound borrow: 0x0001 - 0xD54F = 0x0001 + 0x2AB0 = 0x2AB1.
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:1:1::1"), "fd01:203:405:2ab1::1");
}

// --- refusals (address left unchanged) ---

TEST(PrefixMap, RefusesOutsideTheZeroExtendedPrefix) {
  // s3.7: /48 inside, /56 outside: inside addresses must have zeros in bits 48..55.
  auto t = table({{"fd01:203:405::/48", "2001:db8:1:ab00::/56"}});
  expect_refused(*t, kOut, "fd01:203:405:1200::1", Counter::drop_outside_mapped_range);
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405:12::1234"), "2001:db8:1:ab12:2a4f::1234");
  // /64 inside, /48 outside: outside addresses must have a zero subnet word.
  auto t2 = table({{"fd01:203:405:1::/64", "2001:db8:1::/48"}});
  expect_refused(*t2, kIn, "2001:db8:1:5::1", Counter::drop_outside_mapped_range);
  EXPECT_EQ(map_ok(*t2, kIn, "2001:db8:1:0:d551::1234"), "fd01:203:405:1:1::1234");
}

TEST(PrefixMap, RefusesSubnetFFFFWithA48) {
  // s4.2: 0xFFFF and 0x0000 are the same one's-complement value, so subnet 0xFFFF would collide with subnet 0.
  auto t = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  expect_refused(*t, kOut, "fd01:203:405:ffff::1", Counter::drop_subnet_ffff);
  expect_refused(*t, kIn, "2001:db8:1:ffff::1", Counter::drop_subnet_ffff);
  auto t40 = table({{"fd01:203:400::/40", "2001:db8:100::/40"}});
  expect_refused(*t40, kOut, "fd01:203:4ab:ffff::1", Counter::drop_subnet_ffff);
}

TEST(PrefixMap, RefusesAllOnesWords4To7) {
  // s3.5: with L > 48 no word can take the adjustment.
  auto t = table({{"fd00:1:2:3::/64", "2001:db8:a:b::/64"}});
  expect_refused(*t, kOut, "fd00:1:2:3:ffff:ffff:ffff:ffff", Counter::drop_iid_all_ones);
  expect_refused(*t, kIn, "2001:db8:a:b:ffff:ffff:ffff:ffff", Counter::drop_iid_all_ones);
}

TEST(PrefixMap, RefusesAllOnesInterfaceIdentifierResult) {
  // L <= 48: word 3 takes the adjustment, so an all-ones IID would come out all-ones.
  auto t = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  expect_refused(*t, kOut, "fd01:203:405:1:ffff:ffff:ffff:ffff", Counter::drop_iid_all_ones);
  expect_refused(*t, kIn, "2001:db8:1:d550:ffff:ffff:ffff:ffff", Counter::drop_iid_all_ones);
}

TEST(PrefixMap, RefusesAllZerosInterfaceIdentifierResult) {
  // The subnet-router anycast address (RFC 4291 s2.6.1).
  auto t = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  expect_refused(*t, kOut, "fd01:203:405:1::", Counter::drop_result_anycast);
  expect_refused(*t, kIn, "2001:db8:1:d550::", Counter::drop_result_anycast);
  // L > 48: the IID becomes zero only through the arithmetic: 0x30C7 + 0xCF38 = 0xFFFF -> 0x0000.
  auto t64 = table({{"fd00:1:2:3::/64", "2001:db8:a:b::/64"}});
  expect_refused(*t64, kOut, "fd00:1:2:3:30c7::", Counter::drop_result_anycast);
  expect_refused(*t64, kIn, "2001:db8:a:b:cf38::", Counter::drop_result_anycast);
  // The anycast address as input is refused too: outside anycast 2001:db8:a:b:: would become fd00:1:2:3:30c7::
  // (0 - 0xCF38), whose replies map back to the anycast address and would be refused; likewise inside anycast.
  expect_refused(*t64, kIn, "2001:db8:a:b::", Counter::drop_result_anycast);
  expect_refused(*t64, kOut, "fd00:1:2:3::", Counter::drop_result_anycast);
}

// --- non-octet and mixed lengths ---

TEST(PrefixMap, NonOctetLengths) {
  // /33: only the top bit of word 2 is prefix; the other 15 bits pass through. Adjustment 0xE17B.
  auto t33 = table({{"fd00:1234:8000::/33", "2001:db8:8000::/33"}});
  EXPECT_EQ(t33->mappings()[0].adjustment, 0xE17B);
  EXPECT_EQ(map_ok(*t33, kOut, "fd00:1234:8abc:5::1"), "2001:db8:8abc:e180::1");
  EXPECT_EQ(map_ok(*t33, kIn, "2001:db8:8abc:e180::1"), "fd00:1234:8abc:5::1");
  EXPECT_EQ(t33->match(addr("fd00:1234:7fff::1"), kOut), nullptr);

  // /52: the low 12 bits of word 3 pass through; word 4 takes adjustment 0x4F40.
  auto t52 = table({{"fd00:1:2:3000::/52", "2001:db8:a:b000::/52"}});
  EXPECT_EQ(map_ok(*t52, kOut, "fd00:1:2:3abc::1"), "2001:db8:a:babc:4f40::1");
  EXPECT_EQ(map_ok(*t52, kIn, "2001:db8:a:babc:4f40::1"), "fd00:1:2:3abc::1");
  EXPECT_EQ(t52->match(addr("fd00:1:2:4000::1"), kOut), nullptr);

  // /60: the low nibble of word 3 passes through; word 4 is 0xFFFF so word 5 takes adjustment 0xCEC0.
  auto t60 = table({{"fd00:1:2:30::/60", "2001:db8:a:b0::/60"}});
  EXPECT_EQ(map_ok(*t60, kOut, "fd00:1:2:35:ffff::7"), "2001:db8:a:b5:ffff:cec0:0:7");
  EXPECT_EQ(map_ok(*t60, kIn, "2001:db8:a:b5:ffff:cec0:0:7"), "fd00:1:2:35:ffff::7");
  EXPECT_EQ(t60->match(addr("fd00:1:2:40::1"), kOut), nullptr);
}

TEST(PrefixMap, MixedLengthsBothWays) {
  auto t = table({{"fd01:203:405::/48", "2001:db8:1:ab00::/56"}});
  EXPECT_EQ(map_ok(*t, kOut, "fd01:203:405:12::1234"), "2001:db8:1:ab12:2a4f::1234");
  EXPECT_EQ(map_ok(*t, kIn, "2001:db8:1:ab12:2a4f::1234"), "fd01:203:405:12::1234");
  auto t2 = table({{"fd01:203:405:1::/64", "2001:db8:1::/48"}});  // adjustment 0xD550, L = 64
  EXPECT_EQ(map_ok(*t2, kOut, "fd01:203:405:1:1::1234"), "2001:db8:1:0:d551::1234");
}

// --- lookup across several pairs ---

TEST(PrefixMap, LookupPicksTheRightPairAmongSeveralLengths) {
  auto t = table({
      {"fd00:1::/48", "2001:db8:100::/48"},               // 0
      {"fd00:2:0:100::/56", "2001:db8:200:100::/56"},     // 1
      {"fd00:2:0:200::/64", "2001:db8:200:200::/64"},     // 2
      {"fd00:3::/32", "2001:db9::/32"},                   // 3
      {"fd00:2:0:280::/60", "2001:db8:300::/60"},         // 4
      {"fd00:2:0:300::/64", "2001:db8:200:2ff::/64"},     // 5
  });
  struct Case {
    const char* address;
    Direction d;
    int mapping;  // -1: no match
  };
  const Case cases[] = {
      {"fd00:1:0:6::1", kOut, 0},        {"fd00:1:5:6::1", kOut, -1},       {"fd00:2:0:1ff::1", kOut, 1},  {"fd00:2:0:100::1", kOut, 1},
      {"fd00:2:0:200::9", kOut, 2},      {"fd00:2:0:201::9", kOut, -1}, {"fd00:3:abcd::1", kOut, 3},
      {"fd00:2:0:28f::1", kOut, 4},      {"fd00:2:0:290::1", kOut, -1}, {"fd00:2:0:300::1", kOut, 5},
      {"fd00:4::1", kOut, -1},           {"2001:db8:100::1", kOut, -1}, {"2001:db8:100:7::1", kIn, 0},
      {"2001:db8:200:1aa::1", kIn, 1},   {"2001:db8:200:200::1", kIn, 2}, {"2001:db8:200:2ff::1", kIn, 5},
      {"2001:db8:200:201::1", kIn, -1},  {"2001:db9:1::1", kIn, 3},     {"2001:db8:300:f::1", kIn, 4},
      {"2001:db8:300:10::1", kIn, -1},   {"fd00:1::1", kIn, -1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.address);
    const Mapping* m = t->match(addr(c.address), c.d);
    if (c.mapping < 0) {
      EXPECT_EQ(m, nullptr);
    } else {
      ASSERT_NE(m, nullptr);
      EXPECT_EQ(m->index, static_cast<uint32_t>(c.mapping));
    }
  }
  // The mapping found also translates into its own outside prefix and back.
  EXPECT_EQ(map_ok(*t, kOut, "fd00:2:0:28f::1").substr(0, 14), "2001:db8:300:f");
  EXPECT_EQ(map_ok(*t, kIn, map_ok(*t, kOut, "fd00:2:0:28f::1")), "fd00:2:0:28f::1");
}

// --- configuration errors ---

std::string compile_error(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<PrefixPair> v;
  for (const auto& [in, out] : pairs) v.push_back({test::prefix(in), test::prefix(out)});
  std::string error;
  auto t = PrefixTable::compile(v, error);
  if (t) return "compiled";
  return error.empty() ? "failed without a message" : error;
}

TEST(PrefixMapCompile, RefusesBadLengths) {
  EXPECT_NE(compile_error({{"fd00::/0", "2001:db8::/48"}}).find("1..64"), std::string::npos);
  EXPECT_NE(compile_error({{"fd00::/48", "2001:db8::/65"}}).find("1..64"), std::string::npos);
  EXPECT_NE(compile_error({{"fd00::/48", "2001:db8::/128"}}).find("1..64"), std::string::npos);
}

TEST(PrefixMapCompile, RefusesHostBits) {
  EXPECT_NE(compile_error({{"fd00:1::1/48", "2001:db8::/48"}}).find("beyond its length"), std::string::npos);
  EXPECT_NE(compile_error({{"fd00:1:0:1::/48", "2001:db8::/48"}}).find("beyond its length"), std::string::npos);
  EXPECT_NE(compile_error({{"fd00:1:2:3008::/52", "2001:db8::/52"}}).find("beyond its length"), std::string::npos);
  EXPECT_NE(compile_error({{"fd00::/48", "2001:db8:8000::/32"}}).find("beyond its length"), std::string::npos);
  EXPECT_NE(compile_error({{"fd00:1:2:3::8/64", "2001:db8::/64"}}).find("beyond its length"), std::string::npos);
}

TEST(PrefixMapCompile, RefusesNonUnicastKinds) {
  const char* kind = "not a global or unique-local unicast prefix";
  EXPECT_NE(compile_error({{"ff05::/16", "2001:db8::/48"}}).find(kind), std::string::npos);       // multicast
  EXPECT_NE(compile_error({{"fd00::/48", "ff0e:1::/32"}}).find(kind), std::string::npos);         // multicast
  EXPECT_NE(compile_error({{"fe80::/64", "2001:db8::/64"}}).find(kind), std::string::npos);       // link-local
  EXPECT_NE(compile_error({{"fd00::/48", "febf:1::/32"}}).find(kind), std::string::npos);         // fe80::/10
  EXPECT_NE(compile_error({{"::/48", "2001:db8::/48"}}).find(kind), std::string::npos);           // unspecified
  EXPECT_NE(compile_error({{"fd00::/48", "::/64"}}).find(kind), std::string::npos);               // unspecified
  // Loopback ::1 cannot be written as a prefix of at most /64 without host bits; either way it is refused.
  EXPECT_NE(compile_error({{"::1/64", "2001:db8::/64"}}), "compiled");
  EXPECT_NE(compile_error({{"fd00::/48", "::1/128"}}), "compiled");
  // Site-local (fec0::/10, deprecated) is not link-local: it compiles.
  EXPECT_EQ(compile_error({{"fec0:1::/32", "2001:db8::/32"}}), "compiled");
}

TEST(PrefixMapCompile, RefusesInsideEqualToOutside) {
  EXPECT_NE(compile_error({{"2001:db8:1::/48", "2001:db8:1::/48"}}).find("same prefix"), std::string::npos);
}

TEST(PrefixMapCompile, RefusesOverlappingInsides) {
  std::string e = compile_error({{"fd00:1::/48", "2001:db8:1::/48"}, {"fd00:1:0:100::/56", "2001:db8:2::/56"}});
  EXPECT_NE(e.find("inside prefix overlaps mapping 0"), std::string::npos) << e;
  EXPECT_NE(e.find("mapping 1"), std::string::npos) << e;
  e = compile_error({{"fd00:1::/48", "2001:db8:1::/48"}, {"fd00:1::/48", "2001:db8:2::/48"}});
  EXPECT_NE(e.find("inside prefix overlaps"), std::string::npos) << e;
}

TEST(PrefixMapCompile, RefusesTwoInsidesOntoOverlappingOutsides) {
  // The seed's gateway maps two /64s onto one /64: inbound packets could not tell which inside they are for.
  std::string e = compile_error({{"fd5a:ceb9:ed8d:fe0a::/64", "2001:db8:ff66::/64"},
                                 {"fd5a:ceb9:ed8d:fefc::/64", "2001:db8:ff66::/64"}});
  EXPECT_NE(e.find("outside prefix overlaps mapping 0"), std::string::npos) << e;
  e = compile_error({{"fd00:1::/48", "2001:db8:1::/48"}, {"fd00:2::/56", "2001:db8:1:ff00::/56"}});
  EXPECT_NE(e.find("outside prefix overlaps"), std::string::npos) << e;
}

TEST(PrefixMapCompile, AcceptsSeveralDisjointPairs) {
  auto t = table({{"fd00:1::/48", "2001:db8:1::/48"}, {"fd00:2::/56", "2001:db8:2::/56"}, {"fd00:3::/60", "2001:db8:3::/64"}});
  ASSERT_EQ(t->mappings().size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(t->mappings()[i].index, i);
  EXPECT_EQ(t->mappings()[2].len, 64);
}

// The table-level map_address (npt66 translate's question): not ours, translated, or refused with the mapping.
TEST(PrefixMapTable, MapAddressNamesTheMappingAndTheOutcome) {
  auto t = table({{"fd00:1::/48", "2001:db8:1::/48"}, {"fd00:2::/48", "2001:db8:2::/48"}});
  Address a = addr("fd00:3::1");
  AddressOutcome r = map_address(*t, kOut, a);
  EXPECT_EQ(r.mapping, nullptr);
  EXPECT_EQ(name(r.reason), "not_ours");
  EXPECT_EQ(a, addr("fd00:3::1"));

  a = addr("fd00:2:0:1::1");
  r = map_address(*t, kOut, a);
  ASSERT_NE(r.mapping, nullptr);
  EXPECT_EQ(r.mapping->index, 1u);
  EXPECT_EQ(name(r.reason), "ok");
  EXPECT_EQ(a.high64() >> 16, addr("2001:db8:2::").high64() >> 16);

  a = addr("fd00:1:0:ffff::1");  // s4.2: subnet 0xFFFF with a /48
  r = map_address(*t, kOut, a);
  ASSERT_NE(r.mapping, nullptr);
  EXPECT_EQ(r.mapping->index, 0u);
  EXPECT_EQ(name(r.reason), "drop_subnet_ffff");
  EXPECT_EQ(a, addr("fd00:1:0:ffff::1"));
}

}  // namespace
}  // namespace npt66
