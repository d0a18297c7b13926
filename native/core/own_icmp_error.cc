// The gateway's own ICMPv6 errors: the quoted packet translated back. See own_icmp_error.h.
#include "own_icmp_error.h"

#include "nat66_translate.h"
#include "packet_view.h"
#include "prefix_map.h"

namespace npt66 {
namespace {

Handled passes(CounterBlock& c) noexcept {
  c.add(Counter::not_ours);
  return {Verdict::pass(), Handled::By::none, 0};
}

Handled dropped(CounterBlock& c, Counter why, Handled::By by, uint32_t table, uint32_t mapping) noexcept {
  c.add(why);
  return {Verdict::drop(why, 0, mapping), by, table};
}

Handled translated(CounterBlock& c, Handled::By by, uint32_t table, uint32_t mapping) noexcept {
  c.add(Counter::own_icmp_error_translated);
  return {Verdict{Action::translated, Counter::own_icmp_error_translated, mapping, 0}, by, table};
}

}  // namespace

Handled translate_own_icmp_error(const Tables& tables, uint8_t* data, size_t len, CounterBlock& counters) noexcept {
  PacketView v;
  Counter why;
  if (!parse_packet(data, len, v, why)) {
    counters.add(why);
    return {Verdict::drop(why), Handled::By::none, 0};
  }
  if (!v.is_icmp_error()) return passes(counters);
  // RFC 4443 s2.4(c): the kernel quotes as much as fits, never less than the fixed header. A shorter quote may
  // still hold part of an inside address: refuse it rather than guess.
  if (v.l4_len() < icmp6::kHeaderLen + ip6::kHeaderLen) {
    counters.add(Counter::drop_icmp_inner_truncated);
    return {Verdict::drop(Counter::drop_icmp_inner_truncated), Handled::By::none, 0};
  }
  uint8_t* quoted_dst = data + v.l4 + icmp6::kHeaderLen + ip6::kDstOffset;
  Address dst = Address::from(quoted_dst);

  // NPTv6 (RFC 6296 s3.2): the quoted destination was mapped outside -> inside; map it back. Checksum-neutral.
  if (tables.nptv6 != nullptr) {
    if (const Mapping* m = tables.nptv6->match(dst, Direction::outbound)) {
      if (map_address(*m, Direction::outbound, dst) != Counter::count_)
        return dropped(counters, Counter::drop_own_icmp_error_unmapped, Handled::By::nptv6, 0, m->index);
      dst.store(quoted_dst);
      return translated(counters, Handled::By::nptv6, 0, m->index);
    }
  }
  // Masquerade (RFC 5508 s4): the quoted destination and port of a live mapping's inside endpoint.
  for (size_t i = 0; i < tables.masquerade.size(); ++i) {
    const Nat66Table& t = *tables.masquerade[i];
    if (!tables.masquerade_inside(i, dst)) continue;
    const auto index = static_cast<uint32_t>(i);
    Nat66Binding b;
    Counter c = nat66_unmap_quoted_destination(t, v, false, tables.now_ms, b);
    if (c == Counter::count_) return translated(counters, Handled::By::masquerade, index, b.handle);
    if (c == Counter::drop_nat66_no_mapping) c = Counter::drop_own_icmp_error_unmapped;
    return dropped(counters, c, Handled::By::masquerade, index, 0);
  }
  return passes(counters);
}

}  // namespace npt66
