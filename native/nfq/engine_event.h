// Rare engine events (warnings, state changes, errors) and batches of NAT66 mapping events, handed to whoever
// embeds the engine. Never per packet: mapping events are collected and handed over at most every ~100 ms.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nat66_types.h"

namespace npt66::nfq {

// One masquerade table's mapping event (conntrack -E style). Every time in it is Unix epoch milliseconds
// (converted from the engine's monotonic clock when the batch was taken, see engine_clock.h).
struct MappingEvent {
  uint32_t masquerade = 0;  // index of the table in Options::masquerade
  Nat66MappingEvent event;
};

struct Event {
  // address: an interface's global IPv6 addresses changed (address_watch.h); `interface` names it ("" when
  // unknown or when notices were lost: read every interface again).
  enum class Type : uint8_t { warning, state, error, mapping, address };
  Type type = Type::state;
  std::string message;
  int queue = -1;       // the queue it concerns, -1 for the whole engine
  double time_ms = 0;   // wall clock, milliseconds since the Unix epoch
  std::vector<MappingEvent> mappings;  // type == mapping: the whole batch, in the order the tables queued them
  std::string interface;               // type == address
};

// Called on the JS thread (start/stop), on a packet thread or on the housekeeping thread: it must be
// thread-safe and must not block.
using EventSink = std::function<void(Event)>;

Event make_event(Event::Type type, std::string message, int queue = -1);

}  // namespace npt66::nfq
