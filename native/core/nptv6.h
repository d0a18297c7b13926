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

// translate_nptv6 when the caller (the dispatch) has already matched the packet's translated address (outbound
// its source, inbound its destination) to `m` in `table`: the same result without a second match.
Verdict translate_nptv6_matched(const PrefixTable& table, const Mapping& m, Direction d, uint8_t* data, size_t len,
                                CounterBlock& counters) noexcept;

}  // namespace npt66
