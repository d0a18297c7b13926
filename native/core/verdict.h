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

// The ICMPv6 error a drop asks the engine to send back to its sender (rate-limited, and only where RFC 4443
// s2.4(e) allows: icmp_reply.h decides that, once). The translator that refuses a packet is the one that knows.
enum class IcmpAnswer : uint8_t {
  none,
  param_problem,     // RFC 6296 refusal: Parameter Problem code 0, `pointer` naming the address (REFERENCE s1)
  admin_prohibited,  // new masquerade flow refused for lack of resources: Destination Unreachable code 1 (RFC 6888)
};

struct Verdict {
  Action action = Action::not_ours;
  Counter reason = Counter::not_ours;  // the counter this packet was counted under
  uint32_t mapping = 0;                // index of the matched mapping (valid unless not_ours)
  uint8_t pointer = 0;                 // for refusals: offset of the offending address (8 src, 24 dst), else 0
  IcmpAnswer answer = IcmpAnswer::none;  // for drops: what to tell the sender

  // A drop naming an offending address (pointer != 0) is answered with Parameter Problem.
  static constexpr Verdict drop(Counter why, uint8_t ptr = 0, uint32_t m = 0) noexcept {
    return {Action::drop, why, m, ptr, ptr != 0 ? IcmpAnswer::param_problem : IcmpAnswer::none};
  }
  static constexpr Verdict pass() noexcept { return {}; }
};

}  // namespace npt66
