// NPTv6 packet translation (RFC 6296): outbound rewrites the source, inbound the destination; ICMPv6 errors
// (types 1-4) also get their embedded header translated. Checksum-neutral: no checksum is ever touched.
#pragma once
#include <cstddef>
#include <cstdint>

#include "counters.h"
#include "prefix_map.h"
#include "verdict.h"

namespace npt66 {

// Translates the complete IPv6 packet at data[0, len) in place and counts the outcome in `counters`.
// On any refusal the packet is left byte-for-byte unchanged (so fail-open can still pass the original).
Verdict translate_nptv6(const PrefixTable& table, Direction d, uint8_t* data, size_t len,
                        CounterBlock& counters) noexcept;

// One packet of a batch: the complete IPv6 packet at data[0, len).
struct PacketRef {
  uint8_t* data = nullptr;
  size_t len = 0;
};

// translate_nptv6 on each of packets[0, n) in turn, in one direction: verdicts[i] and the counters end up as
// n separate calls would leave them. One call per receive batch saves the per-call dispatch on direction and
// table shape and the per-packet update of the translated counter.
void translate_nptv6_batch(const PrefixTable& table, Direction d, const PacketRef* packets, size_t n,
                           Verdict* verdicts, CounterBlock& counters) noexcept;

}  // namespace npt66
