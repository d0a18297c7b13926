// NPTv6 prefix pairs compiled into an immutable table (RFC 6296 s3.1: adjustment precomputed once),
// longest-prefix match in both directions, and the per-address mapping of s3.2-s3.5.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "checksum.h"
#include "counters.h"
#include "ipv6.h"
#include "verdict.h"

namespace npt66 {

struct Prefix {
  Address addr;
  uint8_t len = 0;
};

struct PrefixPair {
  Prefix inside;
  Prefix outside;
  // The outside interface the entry names (a label here: the core never looks interfaces up). One inside prefix
  // may appear in several pairs when their interfaces differ: several uplinks (RFC 6296 s2.4).
  std::string interface;
  uint32_t outdev = 0;       // `interface`'s ifindex, resolved by whoever runs the table (0: unknown)
  bool no_outside = false;   // the outside prefix follows an interface with no usable address yet: `outside`
                             // is ignored, inbound matches nothing and outbound is refused (drop_no_outside_prefix)
};

struct Mapping {
  uint32_t index = 0;     // position in the configuration
  uint8_t len = 0;        // L: the longer of the two lengths; both prefixes are zero-extended to it (s3.7)
  uint64_t mask = 0;      // first L bits
  uint64_t inside_hi = 0; // zero-extended inside prefix, high 64 bits
  uint64_t outside_hi = 0;
  uint16_t adjustment = 0;  // s3.1: one's-complement sum(inside) - sum(outside)
  bool no_outside = false;  // PrefixPair::no_outside: every translation through it is refused
  uint32_t outdev = 0;      // PrefixPair::outdev
  uint32_t next_uplink = UINT32_MAX;  // the next mapping (index) with the same inside prefix, UINT32_MAX: none
  PrefixPair pair;                    // as configured (last: the fields above are the per-packet ones)
};

class PrefixTable {
 public:
  // Validates and compiles. On error returns null and sets `error` to a message naming the mapping and fix.
  static std::shared_ptr<const PrefixTable> compile(const std::vector<PrefixPair>& pairs, std::string& error);

  // Longest-prefix match on the configured inside (outbound) or outside (inbound) prefix; null if none.
  const Mapping* match(const Address& a, Direction d) const noexcept { return match_high(a.high64(), d); }
  // The same, given the address's high 64 bits in host order (the per-packet path reads them straight from
  // the packet). Inline: it runs once or twice per packet, and a table of one pair needs one compare.
  const Mapping* match_high(uint64_t hi, Direction d) const noexcept {
    return mappings_.size() == 1 ? match_only(hi, d) : match_buckets(hi, d);
  }
  // match_high() for a table of exactly one mapping (mappings().size() == 1): one mask and one compare.
  const Mapping* match_only(uint64_t hi, Direction d) const noexcept {
    const Only& o = only_[static_cast<size_t>(d)];
    const Mapping* m = mappings_.data();
    if (m == nullptr) __builtin_unreachable();  // one mapping: lets the caller's null test on a hit fold away
    return (hi & o.mask) == o.key ? m : nullptr;
  }
  // Outbound with the packet's output interface (NFQA_IFINDEX_OUTDEV, 0 when unknown): with several uplinks
  // for one inside prefix (RFC 6296 s2.4) the mapping of that interface; when none is (hairpin leaving by an
  // inside interface, an unknown interface) the first configured one.
  const Mapping* match_outbound(uint64_t hi, uint32_t outdev) const noexcept {
    const Mapping* m = match_high(hi, Direction::outbound);
    if (m != nullptr && m->next_uplink != UINT32_MAX) [[unlikely]]
      return &uplink_for(*m, outdev);
    return m;
  }
  const std::vector<Mapping>& mappings() const noexcept { return mappings_; }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint64_t kHashMul = 0x9E3779B97F4A7C15ull;  // Fibonacci hashing: the top bits of key * this
  struct Slot {
    uint64_t key = 0;           // masked prefix
    uint32_t mapping = kEmpty;  // index into mappings_, kEmpty = free
  };
  // All mappings whose matched prefix has one length (longest lengths first): an open-addressing hash set
  // (load <= 1/2, linear probing), so a lookup costs one probe whatever the number of pairs.
  struct Bucket {
    uint8_t len;
    uint64_t mask;
    unsigned shift;    // 64 - log2(slots.size())
    size_t slot_mask;  // slots.size() - 1
    std::vector<Slot> slots;
  };

  // With exactly one mapping: its configured prefix in each direction (outbound: inside, inbound: outside).
  struct Only {
    uint64_t mask = 0, key = 0;
  };
  const Mapping* match_buckets(uint64_t hi, Direction d) const noexcept;  // longest first, one probe each
  const Mapping& uplink_for(const Mapping& first, uint32_t outdev) const noexcept;

  std::vector<Mapping> mappings_;
  Only only_[2];
  std::vector<Bucket> by_inside_;
  std::vector<Bucket> by_outside_;
};

// RFC 6296 s3.2-s3.5 on an address held as its two 64-bit halves in host order (words 0-3 in `hi`, 4-7 in
// `lo`), which matched `m` in direction `D`. On success rewrites both and returns Counter::count_; otherwise
// returns the drop counter of the refusal and leaves them unchanged. A template so that the per-packet path,
// which knows its direction, carries no direction tests.
template <Direction D>
inline Counter map_halves(const Mapping& m, uint64_t& hi, uint64_t& lo) noexcept {
  constexpr bool out = D == Direction::outbound;
  if (m.no_outside) [[unlikely]] return Counter::drop_no_outside_prefix;  // fail closed, never untranslated
  // s3.7: the shorter prefix is zero-extended, so the bits between the two lengths must be zero.
  if ((hi & m.mask) != (out ? m.inside_hi : m.outside_hi)) return Counter::drop_outside_mapped_range;
  // Inbound subtracts the adjustment: a - b == a + ~b in one's complement.
  const uint16_t adj = out ? m.adjustment : static_cast<uint16_t>(~m.adjustment);
  uint64_t new_hi = (hi & ~m.mask) | (out ? m.outside_hi : m.inside_hi);
  uint64_t new_lo = lo;
  if (m.len <= 48) [[likely]] {  // s3.4: the subnet word (word 3, the low 16 bits of `hi`) takes the adjustment
    const uint16_t w = static_cast<uint16_t>(hi);
    if (w == 0xFFFF) return Counter::drop_subnet_ffff;  // s4.2: 0xFFFF == 0x0000 in one's complement
    uint16_t nw = csum::add(w, adj);
    if (nw == 0xFFFF) nw = 0;  // s3.2: 0xFFFF is written as 0x0000
    new_hi = (new_hi & ~uint64_t{0xFFFF}) | nw;
  } else {  // s3.5: the first of words 4..7 that is not 0xFFFF
    if (lo == ~uint64_t{0}) return Counter::drop_iid_all_ones;
    const unsigned shift = 48 - 16 * (static_cast<unsigned>(std::countl_one(lo)) / 16);
    uint16_t nw = csum::add(static_cast<uint16_t>(lo >> shift), adj);
    if (nw == 0xFFFF) nw = 0;
    new_lo = (lo & ~(uint64_t{0xFFFF} << shift)) | uint64_t{nw} << shift;
  }
  if (new_lo == ~uint64_t{0}) return Counter::drop_iid_all_ones;
  // Subnet-router anycast (RFC 4291 s2.6.1), as a result *or as the input*: with L > 48 the anycast address
  // maps to an ordinary address whose reverse mapping is the anycast one again, so accepting it on one side
  // only would translate a packet whose replies are then refused. Refusing both keeps the mapping a bijection.
  if (new_lo == 0 || lo == 0) return Counter::drop_result_anycast;
  hi = new_hi;
  lo = new_lo;
  return Counter::count_;
}

inline Counter map_halves(const Mapping& m, Direction d, uint64_t& hi, uint64_t& lo) noexcept {
  return d == Direction::outbound ? map_halves<Direction::outbound>(m, hi, lo)
                                  : map_halves<Direction::inbound>(m, hi, lo);
}

// Rewrites `a` (which matched `m` in direction `d`) in place, RFC 6296 s3.2 (outbound) / s3.3 (inbound).
// Returns Counter::count_ on success, otherwise the drop counter of the refusal; `a` is then unchanged.
inline Counter map_address(const Mapping& m, Direction d, Address& a) noexcept {
  uint64_t hi = a.high64(), lo = a.low64();
  const Counter c = map_halves(m, d, hi, lo);
  if (c == Counter::count_) {
    store_be64(a.b.data(), hi);
    store_be64(a.b.data() + 8, lo);
  }
  return c;
}

// What an address becomes under a whole table: the mapping it matched (null when none) and the outcome.
struct AddressOutcome {
  const Mapping* mapping = nullptr;
  Counter reason = Counter::not_ours;  // Counter::count_ when translated, else not_ours or the refusal's drop
};

// Matches `a` in direction `d` and maps it (in place, only when translated): `npt66 translate`'s question.
inline AddressOutcome map_address(const PrefixTable& table, Direction d, Address& a) noexcept {
  const Mapping* m = table.match(a, d);
  if (m == nullptr) return {};
  return {m, map_address(*m, d, a)};
}

// True if `p` has bits set beyond its length.
bool has_host_bits(const Prefix& p) noexcept;

}  // namespace npt66
