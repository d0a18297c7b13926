// The outside interfaces, named in the configuration, as the ifindexes the dispatch compares NFQA_IFINDEX_INDEV
// with (Tables::outside_ifindexes): a packet with an inside source arriving on one is forged (dispatch.h).
// Resolved here, with if_nametoindex() in the engine's network namespace, because names are what the
// configuration knows and indexes are what the kernel reports; an interface created later (or deleted and
// created again, with a new index) is picked up when the engine resolves again (set_outside_interfaces, and
// the housekeeping thread about once a second).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prefix_map.h"

namespace npt66::nfq {

using OutsideIfindexes = std::vector<uint32_t>;  // sorted, no repeats
// Written by the JS thread and the housekeeping thread, read once per receive batch by each queue thread.
using OutsideSlot = std::atomic<std::shared_ptr<const OutsideIfindexes>>;

struct ResolvedInterfaces {
  OutsideIfindexes ifindexes;
  std::vector<std::string> missing;  // names with no interface (yet) in this network namespace
};

ResolvedInterfaces resolve_interfaces(const std::vector<std::string>& names);

// `table` with each mapping's outdev set to the ifindex its interface has now (0: none), so that the dispatch can
// pick among several uplinks of one inside prefix by NFQA_IFINDEX_OUTDEV (RFC 6296 s2.4). The same table when
// nothing changed or when no inside prefix has several uplinks (then outdev is never read).
std::shared_ptr<const PrefixTable> with_resolved_outdevs(std::shared_ptr<const PrefixTable> table);

}  // namespace npt66::nfq
