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

namespace npt66::nfq {

using OutsideIfindexes = std::vector<uint32_t>;  // sorted, no repeats
// Written by the JS thread and the housekeeping thread, read once per receive batch by each queue thread.
using OutsideSlot = std::atomic<std::shared_ptr<const OutsideIfindexes>>;

struct ResolvedInterfaces {
  OutsideIfindexes ifindexes;
  std::vector<std::string> missing;  // names with no interface (yet) in this network namespace
};

ResolvedInterfaces resolve_interfaces(const std::vector<std::string>& names);

}  // namespace npt66::nfq
