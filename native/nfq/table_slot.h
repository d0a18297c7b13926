// The current translation table: written by set_table (JS thread), read once per receive batch by each queue
// thread. A swap never blocks a packet thread for long and never drops a packet: a batch keeps the table it took.
#pragma once
#include <atomic>
#include <memory>

#include "prefix_map.h"

namespace npt66::nfq {

using TableSlot = std::atomic<std::shared_ptr<const PrefixTable>>;

}  // namespace npt66::nfq
