// Rare engine events (warnings, state changes, errors) handed to whoever embeds the engine. Never per packet.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace npt66::nfq {

struct Event {
  enum class Type : uint8_t { warning, state, error };
  Type type = Type::state;
  std::string message;
  int queue = -1;       // the queue it concerns, -1 for the whole engine
  double time_ms = 0;   // wall clock, milliseconds since the Unix epoch
};

// Called on the JS thread (start/stop) or on a packet thread: it must be thread-safe and must not block.
using EventSink = std::function<void(Event)>;

Event make_event(Event::Type type, std::string message, int queue = -1);

}  // namespace npt66::nfq
