// What the core decided about one packet. Every path returns one, and every drop names its counter.
#pragma once
#include <cstdint>

#include "counters.h"

namespace npt66 {

enum class Direction : uint8_t { outbound, inbound };  // outbound: inside -> outside

enum class Action : uint8_t {
  translated,  // bytes were rewritten: give the packet back with the new payload
  not_ours,    // no mapping applies: accept unchanged
  drop,        // refused or malformed: `reason` names the drop counter
};

struct Verdict {
  Action action = Action::not_ours;
  Counter reason = Counter::not_ours;  // the counter this packet was counted under
  uint32_t mapping = 0;                // index of the matched mapping (valid unless not_ours)
  uint8_t pointer = 0;                 // for refusals: offset of the offending address (8 src, 24 dst), else 0

  static constexpr Verdict drop(Counter why, uint8_t ptr = 0, uint32_t m = 0) noexcept {
    return {Action::drop, why, m, ptr};
  }
  static constexpr Verdict pass() noexcept { return {}; }
};

}  // namespace npt66
