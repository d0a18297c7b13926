// Property tests of the RFC 6296 mapping over random prefix pairs (/8../64, mixed and non-octet lengths) and
// random addresses biased towards the edge cases (0xFFFF and 0x0000 words, results of 0xFFFF):
//  - every result equals an independent reference written with mod-0xFFFF arithmetic and bit-by-bit prefixes;
//  - outbound then inbound (and inbound then outbound) is the identity;
//  - the one's-complement sum of the address is unchanged (checksum neutrality, s3.1);
//  - a refusal leaves the address unchanged.
// The seed is fixed and printed; set NPT66_PROPERTY_SEED to replay another one.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "checksum.h"
#include "packet_builder.h"
#include "prefix_map.h"

namespace npt66 {
namespace {

using test::str;

bool bit(const Address& a, unsigned i) { return (a.b[i / 8] >> (7 - i % 8)) & 1; }
void set_bit(Address& a, unsigned i, bool v) {
  uint8_t m = static_cast<uint8_t>(0x80 >> (i % 8));
  a.b[i / 8] = static_cast<uint8_t>(v ? a.b[i / 8] | m : a.b[i / 8] & ~m);
}

// Bit i of the prefix zero-extended to any length (s3.7).
bool prefix_bit(const Prefix& p, unsigned i) { return i < p.len && bit(p.addr, i); }

bool prefixes_overlap(const Prefix& a, const Prefix& b) {
  unsigned l = std::min(a.len, b.len);
  for (unsigned i = 0; i < l; ++i)
    if (bit(a.addr, i) != bit(b.addr, i)) return false;
  return true;
}

uint32_t words_sum_mod(const Address& a) {
  uint32_t s = 0;
  for (int i = 0; i < 8; ++i) s += a.word(i);
  return s % 0xFFFF;
}

struct Expected {
  Counter outcome = Counter::count_;
  Address result;
  bool sum_was_ffff = false;  // the adjusted word summed to 0xFFFF and was written as 0x0000 (s3.2)
};

// The reference mapping: `from` -> `to`, L = longer length, `adj` = value to add, mod 0xFFFF.
Expected reference_map(const Prefix& from, const Prefix& to, unsigned L, uint32_t adj, const Address& a) {
  Expected e;
  e.result = a;
  for (unsigned i = 0; i < L; ++i)
    if (bit(a, i) != prefix_bit(from, i)) return {Counter::drop_outside_mapped_range, a};
  Address r = a;
  for (unsigned i = 0; i < L; ++i) set_bit(r, i, prefix_bit(to, i));
  int k;
  if (L <= 48) {
    if (a.word(3) == 0xFFFF) return {Counter::drop_subnet_ffff, a};
    k = 3;
  } else {
    k = 4;
    while (k < 8 && a.word(k) == 0xFFFF) ++k;
    if (k == 8) return {Counter::drop_iid_all_ones, a};
  }
  r.set_word(k, static_cast<uint16_t>((a.word(k) + adj) % 0xFFFF));  // in 0..0xFFFE: 0xFFFF never appears
  e.sum_was_ffff = a.word(k) + adj == 0xFFFF;
  bool ones = true, zeros = true;
  bool input_zeros = true;  // the anycast address is refused as input too (see prefix_map.cc)
  for (int i = 4; i < 8; ++i) ones &= r.word(i) == 0xFFFF, zeros &= r.word(i) == 0, input_zeros &= a.word(i) == 0;
  zeros |= input_zeros;
  e.outcome = ones ? Counter::drop_iid_all_ones : zeros ? Counter::drop_result_anycast : Counter::count_;
  if (e.outcome == Counter::count_) e.result = r;
  return e;
}

std::string name(Counter c) {
  return c == Counter::count_ ? "ok" : std::string(kCounterInfo[static_cast<size_t>(c)].name);
}

class Random {
 public:
  explicit Random(uint64_t seed) : rng_(seed) {}
  uint64_t next() { return rng_(); }
  unsigned below(unsigned n) { return static_cast<unsigned>(rng_() % n); }
  bool chance(unsigned one_in) { return below(one_in) == 0; }

  // A unicast prefix npt66 accepts: not multicast, link-local or unspecified; no host bits.
  Prefix prefix(unsigned len) {
    for (;;) {
      Prefix p;
      p.len = static_cast<uint8_t>(len);
      uint64_t hi = next() & prefix_mask64(len);
      for (int i = 0; i < 8; ++i) p.addr.b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      bool link_local = p.addr.b[0] == 0xFE && (p.addr.b[1] & 0xC0) == 0x80;
      if (hi != 0 && p.addr.b[0] != 0xFF && !link_local) return p;
    }
  }

  // An address whose first `from_len` bits are `from` and bits from_len..L-1 are zero (inside the mapped
  // range); `stray` sets one of those zero-extension bits instead (outside it, s3.7). Words 3..7 are biased
  // towards 0xFFFF and 0, and sometimes the adjustment word is set so the sum comes out 0xFFFF.
  Address inside(const Prefix& from, unsigned L, uint32_t adj, bool stray) {
    Address a;
    for (auto& x : a.b) x = static_cast<uint8_t>(next());
    for (int w = 3; w < 8; ++w) {
      unsigned r = below(6);
      if (r == 0) a.set_word(w, 0xFFFF);
      if (r == 1) a.set_word(w, 0);
    }
    if (chance(25)) a.b.fill(0xFF);  // all-ones IID (the prefix bits are written below)
    if (chance(25)) a.b.fill(0x00);  // all-zeros IID: the subnet-router anycast address
    for (unsigned i = 0; i < L; ++i) set_bit(a, i, prefix_bit(from, i));
    if (chance(6)) {  // aim the adjusted word at the 0xFFFF -> 0 rule
      int k = 3;
      if (L > 48)
        for (k = 4; k < 7 && a.word(k) == 0xFFFF;) ++k;  // the word s3.5 will choose (word 7 if all are 0xFFFF)
      if (L > 48 || a.word(3) != 0xFFFF) a.set_word(k, static_cast<uint16_t>((0xFFFF - adj) % 0xFFFF));
    }
    if (stray) set_bit(a, from.len + below(L - from.len), true);
    return a;
  }

 private:
  std::mt19937_64 rng_;
};

uint64_t seed_from_env() {
  const char* s = std::getenv("NPT66_PROPERTY_SEED");
  return s ? std::strtoull(s, nullptr, 0) : 0x6296'2024'0001ULL;
}

TEST(Property, RoundTripNeutralityAndRefusals) {
  const uint64_t seed = seed_from_env();
  std::printf("Property seed=0x%llx (replay with NPT66_PROPERTY_SEED)\n", static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  Random rnd(seed);

  constexpr int kTables = 2500;
  constexpr int kAddressesPerTable = 40;  // x up to 4 pairs x 2 directions: ~250k mappings checked
  size_t translated = 0, zero_rule = 0, refused_by_reason[static_cast<size_t>(Counter::count_) + 1] = {};

  for (int t = 0; t < kTables; ++t) {
    // 1..4 pairs with random, often different, lengths; regenerate until nothing overlaps.
    std::vector<PrefixPair> pairs;
    unsigned n = 1 + rnd.below(4);
    while (pairs.size() < n) {
      unsigned li = 8 + rnd.below(57), lo = rnd.chance(2) ? li : 8 + rnd.below(57);
      PrefixPair p{rnd.prefix(li), rnd.prefix(lo)};
      if (p.inside.len == p.outside.len && p.inside.addr == p.outside.addr) continue;
      bool clash = false;
      for (const PrefixPair& q : pairs)
        clash |= prefixes_overlap(q.inside, p.inside) || prefixes_overlap(q.outside, p.outside);
      if (!clash) pairs.push_back(p);
    }
    std::string error;
    auto table = PrefixTable::compile(pairs, error);
    ASSERT_TRUE(table) << "a valid random configuration was refused: " << error;

    for (int i = 0; i < kAddressesPerTable; ++i) {
      const uint32_t mi = rnd.below(static_cast<unsigned>(pairs.size()));
      const PrefixPair& p = pairs[mi];
      const unsigned L = std::max(p.inside.len, p.outside.len);
      const uint32_t adj_out = (words_sum_mod(p.inside.addr) + 0xFFFF - words_sum_mod(p.outside.addr)) % 0xFFFF;
      const uint32_t adj_in = (0xFFFF - adj_out) % 0xFFFF;

      for (Direction d : {Direction::outbound, Direction::inbound}) {
        const bool out = d == Direction::outbound;
        const Prefix& from = out ? p.inside : p.outside;
        const Prefix& to = out ? p.outside : p.inside;
        const uint32_t adj = out ? adj_out : adj_in;
        const bool stray = from.len < L && rnd.chance(8);
        const Address a = rnd.inside(from, L, adj, stray);
        SCOPED_TRACE(::testing::Message() << "table " << t << " pair " << mi << " " << str(p.inside.addr) << "/"
                                          << int(p.inside.len) << " -> " << str(p.outside.addr) << "/"
                                          << int(p.outside.len) << (out ? " outbound " : " inbound ") << str(a));

        const Mapping* m = table->match(a, d);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(m->index, mi);
        Expected want = reference_map(from, to, L, adj, a);
        Address got = a;
        Counter c = map_address(*m, d, got);
        ASSERT_EQ(name(c), name(want.outcome));
        if (c != Counter::count_) {
          ASSERT_EQ(got, a) << "refusal changed the address";
          ++refused_by_reason[static_cast<size_t>(c)];
          continue;
        }
        ++translated;
        zero_rule += want.sum_was_ffff;
        ASSERT_EQ(str(got), str(want.result));
        // Checksum neutrality (s3.1): the same one's-complement sum, both as a value mod 0xFFFF and folded.
        ASSERT_EQ(test::ref_address_sum_mod(got), test::ref_address_sum_mod(a));
        ASSERT_EQ(csum::sum_address(got), csum::sum_address(a));
        // And back: the reverse direction finds the same mapping and restores the original exactly.
        const Direction back = out ? Direction::inbound : Direction::outbound;
        const Mapping* mb = table->match(got, back);
        ASSERT_NE(mb, nullptr);
        ASSERT_EQ(mb->index, mi);
        Address again = got;
        ASSERT_EQ(name(map_address(*mb, back, again)), "ok");
        ASSERT_EQ(str(again), str(a));
      }
    }
  }
  // The random inputs must really have reached every path, or the test proves little.
  std::printf("translated %zu (0xFFFF written as 0: %zu); refused: outside_range %zu, subnet_ffff %zu, iid_all_ones %zu, anycast %zu\n",
              translated, zero_rule, refused_by_reason[static_cast<size_t>(Counter::drop_outside_mapped_range)],
              refused_by_reason[static_cast<size_t>(Counter::drop_subnet_ffff)],
              refused_by_reason[static_cast<size_t>(Counter::drop_iid_all_ones)],
              refused_by_reason[static_cast<size_t>(Counter::drop_result_anycast)]);
  EXPECT_GT(translated, 100000u);
  EXPECT_GT(zero_rule, 1000u);
  EXPECT_GT(refused_by_reason[static_cast<size_t>(Counter::drop_outside_mapped_range)], 100u);
  EXPECT_GT(refused_by_reason[static_cast<size_t>(Counter::drop_subnet_ffff)], 100u);
  EXPECT_GT(refused_by_reason[static_cast<size_t>(Counter::drop_iid_all_ones)], 1000u);
  EXPECT_GT(refused_by_reason[static_cast<size_t>(Counter::drop_result_anycast)], 1000u);
}

}  // namespace
}  // namespace npt66
