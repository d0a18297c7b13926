#include "engine_event.h"

#include <chrono>

namespace npt66::nfq {

Event make_event(Event::Type type, std::string message, int queue) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return Event{type, std::move(message), queue,
               static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count())};
}

}  // namespace npt66::nfq
