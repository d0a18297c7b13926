#include "packet_handler.h"

#include "ipv6.h"
#include "nptv6.h"

namespace npt66::nfq {
namespace {

Handled not_ours(CounterBlock& counters) noexcept {
  counters.add(Counter::not_ours);
  return {Verdict::pass(), Handled::By::none, 0};
}

Handled by_nptv6(const PrefixTable& t, Direction d, uint8_t* data, size_t len, CounterBlock& counters) noexcept {
  return {translate_nptv6(t, d, data, len, counters), Handled::By::nptv6, 0};
}

Handled by_masquerade(const Tables& tables, size_t i, Direction d, uint8_t* data, size_t len,
                      CounterBlock& counters) noexcept {
  return {tables.masquerade[i]->translate(d, data, len, tables.now_ms, counters), Handled::By::masquerade,
          static_cast<uint32_t>(i)};
}

}  // namespace

Handled handle_packet(const Tables& tables, Direction d, uint8_t* data, size_t len, CounterBlock& counters) noexcept {
  if (tables.nptv6 == nullptr && tables.masquerade.empty()) {
    counters.add(Counter::drop_no_table);
    return {Verdict::drop(Counter::drop_no_table), Handled::By::none, 0};
  }
  // A packet too short or not IPv6 has no addresses to dispatch on: the translator's parser drops and counts it.
  if (len < ip6::kHeaderLen || (data[0] >> 4) != 6) {
    if (tables.nptv6 != nullptr) return by_nptv6(*tables.nptv6, d, data, len, counters);
    return by_masquerade(tables, 0, d, data, len, counters);
  }
  const Address src = Address::from(data + ip6::kSrcOffset);
  const Address dst = Address::from(data + ip6::kDstOffset);

  if (d == Direction::outbound) {
    if (tables.nptv6 != nullptr && tables.nptv6->match(src, Direction::outbound) != nullptr)
      return by_nptv6(*tables.nptv6, d, data, len, counters);
    for (size_t i = 0; i < tables.masquerade.size(); ++i)
      if (tables.masquerade[i]->is_inside(src)) return by_masquerade(tables, i, Direction::outbound, data, len, counters);
    return not_ours(counters);
  }

  if (tables.nptv6 != nullptr && tables.nptv6->match(dst, Direction::inbound) != nullptr)
    return by_nptv6(*tables.nptv6, d, data, len, counters);
  for (size_t i = 0; i < tables.masquerade.size(); ++i) {
    const Nat66Table& t = *tables.masquerade[i];
    if (t.outside_index(dst) < 0) continue;
    // From inside to our own outside address: hairpinning, translated both ways by the outbound path.
    const Direction as = t.is_inside(src) ? Direction::outbound : Direction::inbound;
    return by_masquerade(tables, i, as, data, len, counters);
  }
  return not_ours(counters);
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
