// One's-complement arithmetic (RFC 1071) and incremental update (RFC 1624) against hand-computed values and an
// independent reference sum (packet_builder.h).
#include "checksum.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "packet_builder.h"

namespace npt66 {
namespace {

using test::addr;
using test::Bytes;

TEST(Checksum, SumBytesRfc1071Example) {
  // RFC 1071 s3: 0001 f203 f4f5 f6f7 sums to 2ddf0, folded ddf2.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(csum::sum_bytes(b, sizeof b), 0xddf2);
}

TEST(Checksum, SumBytesOddLengthPadsTheTailWithZero) {
  const uint8_t b[] = {0x01, 0x02, 0x03};
  EXPECT_EQ(csum::sum_bytes(b, 3), 0x0402);  // 0x0102 + 0x0300
  const uint8_t one[] = {0xAB};
  EXPECT_EQ(csum::sum_bytes(one, 1), 0xAB00);
  EXPECT_EQ(csum::sum_bytes(b, 0), 0);
  EXPECT_EQ(csum::sum_bytes(b, 0, 0x1234), 0x1234);
}

TEST(Checksum, SumBytesFoldsTheCarryBackIn) {
  const uint8_t b[] = {0xFF, 0xFF, 0x00, 0x01};
  EXPECT_EQ(csum::sum_bytes(b, 4), 0x0001);  // 0x10000 -> 0x0001
  const uint8_t c[] = {0x80, 0x00};
  EXPECT_EQ(csum::sum_bytes(c, 2, 0x8001), 0x0002);  // initial value takes part: 0x10001 -> 0x0002
  // Many carries: 40000 words of 0xFFFF fold back to 0xFFFF, never to 0.
  Bytes ff(80000, 0xFF);
  EXPECT_EQ(csum::sum_bytes(ff.data(), ff.size()), 0xFFFF);
}

TEST(Checksum, AddUsesEndAroundCarry) {
  EXPECT_EQ(csum::add(0x0001, 0x0002), 0x0003);
  EXPECT_EQ(csum::add(0xFFFF, 0x0001), 0x0001);  // 0x10000 -> 0x0001, not 0x0000
  EXPECT_EQ(csum::add(0x8000, 0x8000), 0x0001);
  EXPECT_EQ(csum::add(0xFFFF, 0xFFFF), 0xFFFF);  // 0x1FFFE -> 0xFFFF
  EXPECT_EQ(csum::add(0x0000, 0x0000), 0x0000);
  EXPECT_EQ(csum::add(0xD54F, 0x3000), 0x0550);  // RFC 6296 adjustment plus a subnet that carries
}

TEST(Checksum, SubIsAdditionOfTheComplement) {
  EXPECT_EQ(csum::sub(5, 3), 2);
  EXPECT_EQ(csum::sub(3, 5), 0xFFFD);  // -2
  EXPECT_EQ(csum::sub(0x1234, 0x1234), 0xFFFF);  // negative zero
  // RFC 6296 s3.6 worked example: sum(fd01:0203:0405) - sum(2001:0db8:0001) = 0xD54F.
  EXPECT_EQ(csum::sub(0x030A, 0x2DBA), 0xD54F);
}

TEST(Checksum, SumAddressOfTheWorkedExamplePrefixes) {
  EXPECT_EQ(csum::sum_address(addr("fd01:203:405::")), 0x030A);  // fd01+0203+0405 = 0x10309 -> 0x030A
  EXPECT_EQ(csum::sum_address(addr("2001:db8:1::")), 0x2DBA);
  EXPECT_EQ(csum::sum_address(addr("::")), 0x0000);
  EXPECT_EQ(csum::sum_address(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), 0xFFFF);
}

TEST(Checksum, UpperLayerKnownAnswers) {
  // Values computed separately (Python, RFC 8200 s8.1 pseudo-header).
  Address s = addr("2001:db8::1"), d = addr("2001:db8::2");
  const uint8_t udp[] = {0x04, 0xd2, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 'a', 'b', 'c', 'd'};
  EXPECT_EQ(csum::upper_layer(s, d, ip6::kUdp, udp, sizeof udp), 0xda93);
  const uint8_t icmp[] = {128, 0, 0, 0, 0, 1, 0, 2, 'a', 'b', 'c'};  // odd length
  EXPECT_EQ(csum::upper_layer(s, d, ip6::kIcmpv6, icmp, sizeof icmp), 0x5fdf);
}

TEST(Checksum, UpperLayerMatchesReferenceOnBuiltPackets) {
  std::mt19937_64 rng(1624);
  for (int i = 0; i < 2000; ++i) {
    Bytes payload(rng() % 300);
    for (auto& x : payload) x = static_cast<uint8_t>(rng());
    Address s, d;
    for (auto& x : s.b) x = static_cast<uint8_t>(rng());
    for (auto& x : d.b) x = static_cast<uint8_t>(rng());
    test::Packet p = i % 2 ? test::build_ipv6(s, d, test::tcp(1, 2, payload)) : test::build_ipv6(s, d, test::echo_request(7, 9, payload));
    uint8_t* l4 = p.bytes.data() + p.l4;
    uint16_t stored = test::read16(p.bytes, p.checksum_at);
    l4[p.checksum_at - p.l4] = l4[p.checksum_at - p.l4 + 1] = 0;
    ASSERT_EQ(csum::upper_layer(s, d, p.proto, l4, p.bytes.size() - p.l4), stored) << "iteration " << i;
  }
}

TEST(Checksum, Rfc1624Section4Example) {
  // m = 0x5555 -> 0x3285, rest sums to 0xCD7A: HC = 0xDD2F and the correct new checksum is 0x0000
  // (eqn. 2 of RFC 1624 would give 0xFFFF).
  EXPECT_EQ(csum::update(0xDD2F, 0x5555, 0x3285), 0x0000);
}

TEST(Checksum, IncrementalUpdateEqualsFullRecomputation) {
  const uint64_t seed = 0x1624;
  std::printf("IncrementalUpdateEqualsFullRecomputation seed=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 20000; ++i) {
    size_t len = 2 + 2 * (rng() % 64);
    Bytes data(len);
    for (auto& x : data) x = static_cast<uint8_t>(rng());
    data[0] |= 1;  // never all zero (the one input where 0x0000 and 0xFFFF both are "right")
    size_t check_at = 2 * (rng() % (len / 2));
    data[check_at] = data[check_at + 1] = 0;
    uint16_t check = static_cast<uint16_t>(~test::ref_fold(test::ref_sum(data.data(), len)));
    data[check_at] = static_cast<uint8_t>(check >> 8), data[check_at + 1] = static_cast<uint8_t>(check);

    // Change 1..4 words (never the checksum itself) and update incrementally over the changed region.
    size_t words = 1 + rng() % 4;
    if (words > len / 2) continue;
    size_t at = 2 * (rng() % (len / 2 - words + 1));
    if (check_at >= at && check_at < at + 2 * words) continue;
    uint16_t old_sum = test::ref_fold(test::ref_sum(data.data() + at, 2 * words));
    for (size_t k = 0; k < 2 * words; ++k) data[at + k] = static_cast<uint8_t>(rng());
    uint16_t new_sum = test::ref_fold(test::ref_sum(data.data() + at, 2 * words));
    uint16_t updated = csum::update(check, old_sum, new_sum);

    data[check_at] = data[check_at + 1] = 0;
    uint16_t full = static_cast<uint16_t>(~test::ref_fold(test::ref_sum(data.data(), len)));
    ASSERT_EQ(updated, full) << "iteration " << i;
  }
}

}  // namespace
}  // namespace npt66
