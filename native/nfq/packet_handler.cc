#include "packet_handler.h"

#include "nptv6.h"

namespace npt66::nfq {

Verdict handle_packet(const Tables& tables, Direction d, uint8_t* data, size_t len, CounterBlock& counters) noexcept {
  if (tables.nptv6 == nullptr) {
    counters.add(Counter::drop_no_table);
    return Verdict::drop(Counter::drop_no_table);
  }
  return translate_nptv6(*tables.nptv6, d, data, len, counters);
}

bool drop_names_mapping(const Verdict& v) noexcept {
  if (v.action != Action::drop) return false;
  switch (v.reason) {
    // Malformed packets and engine-level drops never reached a mapping.
    case Counter::drop_truncated:
    case Counter::drop_not_ipv6:
    case Counter::drop_bad_ext_header:
    case Counter::drop_jumbogram:
    case Counter::drop_no_table:
      return false;
    default:
      return true;
  }
}

}  // namespace npt66::nfq
