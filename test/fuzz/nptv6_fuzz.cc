// libFuzzer target: translate_nptv6 (RFC 6296) in both directions on fixed tables.
// Input: one flags byte (bit 0: inbound, bit 1: the one-pair table), then the packet.
// Invariants:
// - a packet that is not translated is byte-for-byte the input (fail-open passes the original);
// - a translated packet differs only in the address translated (outbound: the source and, in an ICMPv6 error,
//   the quoted destination; inbound: the destination and the quoted source), and each changed address keeps
//   its one's-complement sum (checksum-neutral, s3.1), so every checksum still verifies as before;
// - the reverse translation (addresses swapped, the other direction) is accepted and restores the input;
// - translate_nptv6_matched (the dispatch's entry, given the mapping it matched) agrees with translate_nptv6.
#include <algorithm>
#include <utility>

#include "fuzz_support.h"
#include "fuzz_tables.h"
#include "nptv6.h"

using namespace npt66;
using namespace npt66::fuzz;

namespace {

// Offset of the packet quoted by an ICMPv6 error, when its whole fixed header is present; 0 otherwise.
size_t quoted_header_at(const Bytes& p) {
  PacketView v;
  Counter why;
  Bytes copy = p;
  if (!parse_packet(copy.data(), copy.size(), v, why) || !v.is_icmp_error()) return 0;
  if (v.l4_len() < icmp6::kHeaderLen + ip6::kHeaderLen) return 0;
  return v.l4 + icmp6::kHeaderLen;
}

void swap_addresses(Bytes& p, size_t header_at) {
  std::swap_ranges(p.begin() + static_cast<std::ptrdiff_t>(header_at + ip6::kSrcOffset),
                   p.begin() + static_cast<std::ptrdiff_t>(header_at + ip6::kDstOffset),
                   p.begin() + static_cast<std::ptrdiff_t>(header_at + ip6::kDstOffset));
}

bool same_verdict(const Verdict& a, const Verdict& b) {
  return a.action == b.action && a.reason == b.reason && a.mapping == b.mapping && a.pointer == b.pointer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Direction d = (data[0] & 1) ? Direction::inbound : Direction::outbound;
  const Direction back = d == Direction::outbound ? Direction::inbound : Direction::outbound;
  const PrefixTable& table = nptv6_table((data[0] & 2) != 0);
  const Bytes original(data + 1, data + size);
  static CounterBlock counters;

  Bytes p = original;
  const Verdict v = translate_nptv6(table, d, p.data(), p.size(), counters);

  if (original.size() >= ip6::kHeaderLen) {
    const size_t field = d == Direction::outbound ? ip6::kSrcOffset : ip6::kDstOffset;
    if (const Mapping* m = table.match(Address::from(original.data() + field), d)) {
      Bytes matched = original;
      const Verdict mv = translate_nptv6_matched(table, *m, d, matched.data(), matched.size(), counters);
      NPT66_FUZZ_CHECK(same_verdict(v, mv) && matched == p, "translate_nptv6_matched and translate_nptv6 differ");
    }
  }

  if (v.action != Action::translated) {
    NPT66_FUZZ_CHECK(p == original, "a packet not translated was modified");
    if (v.action == Action::drop) NPT66_FUZZ_CHECK(kCounterInfo[static_cast<size_t>(v.reason)].is_drop, "drop reason");
    return 0;
  }

  // Only the translated addresses may differ, and each keeps its one's-complement sum.
  const size_t quoted = quoted_header_at(original);
  const size_t outer_field = d == Direction::outbound ? ip6::kSrcOffset : ip6::kDstOffset;
  const size_t inner_field = quoted == 0 ? 0 : quoted + (d == Direction::outbound ? ip6::kDstOffset : ip6::kSrcOffset);
  for (size_t i = 0; i < p.size(); ++i) {
    const bool in_outer = i >= outer_field && i < outer_field + 16;
    const bool in_inner = quoted != 0 && i >= inner_field && i < inner_field + 16;
    if (!in_outer && !in_inner) NPT66_FUZZ_CHECK(p[i] == original[i], "a byte outside the translated addresses changed");
  }
  NPT66_FUZZ_CHECK(sum_mod(p.data() + outer_field, 16) == sum_mod(original.data() + outer_field, 16),
                   "outer address not checksum-neutral");
  if (quoted != 0)
    NPT66_FUZZ_CHECK(sum_mod(p.data() + inner_field, 16) == sum_mod(original.data() + inner_field, 16),
                     "quoted address not checksum-neutral");
  NPT66_FUZZ_CHECK(sum_mod(p.data(), p.size()) == sum_mod(original.data(), original.size()),
                   "packet sum changed");

  // The mapping is a bijection: the reply direction maps the address back.
  Bytes r = p;
  swap_addresses(r, 0);
  if (quoted != 0) swap_addresses(r, quoted);
  const Verdict rv = translate_nptv6(table, back, r.data(), r.size(), counters);
  NPT66_FUZZ_CHECK(rv.action == Action::translated, "the reverse translation was refused");
  swap_addresses(r, 0);
  if (quoted != 0) swap_addresses(r, quoted);
  NPT66_FUZZ_CHECK(r == original, "the reverse translation did not restore the input");
  return 0;
}
