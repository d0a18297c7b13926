// The one per-packet dispatch of the queue engine: packet bytes + direction + the current tables -> Verdict.
// Kept apart from the netlink plumbing so that NAT66 masquerade (issue 4) plugs in here and nowhere else.
#pragma once
#include <cstddef>
#include <cstdint>

#include "counters.h"
#include "prefix_map.h"
#include "verdict.h"

namespace npt66::nfq {

// The tables one receive batch works with; read once per batch so a swap never splits a batch.
struct Tables {
  const PrefixTable* nptv6 = nullptr;
};

// Translates data[0, len) in place. A refusal leaves the bytes unchanged (fail-open may pass the original).
// Counts the outcome's reason in `counters` (the queue_* verdict counters are the caller's).
Verdict handle_packet(const Tables& tables, Direction d, uint8_t* data, size_t len, CounterBlock& counters) noexcept;

// True when a drop verdict is about one mapping (a refusal) rather than a malformed or unmatched packet.
bool drop_names_mapping(const Verdict& v) noexcept;

}  // namespace npt66::nfq
