// NPTv6 prefix pairs compiled into an immutable table (RFC 6296 s3.1: adjustment precomputed once),
// longest-prefix match in both directions, and the per-address mapping of s3.2-s3.5.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
};

struct Mapping {
  PrefixPair pair;        // as configured
  uint32_t index = 0;     // position in the configuration
  uint8_t len = 0;        // L: the longer of the two lengths; both prefixes are zero-extended to it (s3.7)
  uint64_t mask = 0;      // first L bits
  uint64_t inside_hi = 0; // zero-extended inside prefix, high 64 bits
  uint64_t outside_hi = 0;
  uint16_t adjustment = 0;  // s3.1: one's-complement sum(inside) - sum(outside)
};

class PrefixTable {
 public:
  // Validates and compiles. On error returns null and sets `error` to a message naming the mapping and fix.
  static std::shared_ptr<const PrefixTable> compile(const std::vector<PrefixPair>& pairs, std::string& error);

  // Longest-prefix match on the configured inside (outbound) or outside (inbound) prefix; null if none.
  const Mapping* match(const Address& a, Direction d) const noexcept;
  const std::vector<Mapping>& mappings() const noexcept { return mappings_; }

 private:
  struct Bucket {  // all mappings whose matched prefix has one length, longest lengths first
    uint8_t len;
    uint64_t mask;
    std::vector<std::pair<uint64_t, uint32_t>> keys;  // sorted (masked prefix, mapping index)
  };
  const Mapping* lookup(const std::vector<Bucket>& buckets, uint64_t hi) const noexcept;

  std::vector<Mapping> mappings_;
  std::vector<Bucket> by_inside_;
  std::vector<Bucket> by_outside_;
};

// Rewrites `a` (which matched `m` in direction `d`) in place, RFC 6296 s3.2 (outbound) / s3.3 (inbound).
// Returns Counter::count_ on success, otherwise the drop counter of the refusal; `a` is then unchanged.
Counter map_address(const Mapping& m, Direction d, Address& a) noexcept;

// True if `p` has bits set beyond its length.
bool has_host_bits(const Prefix& p) noexcept;

}  // namespace npt66
