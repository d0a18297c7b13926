#include "dispatch.h"

#include "ipv6.h"
#include "nptv6.h"
#include "own_icmp_error.h"
#include "nat66_translate.h"

namespace npt66 {
namespace {

Handled not_ours(CounterBlock& counters) noexcept {
  counters.add(Counter::not_ours);
  return {Verdict::pass(), Handled::By::none, 0};
}

Handled refused(CounterBlock& counters, Counter why) noexcept {
  counters.add(why);
  return {Verdict::drop(why), Handled::By::none, 0};
}

// Came in on an outside interface (a handful, sorted: a scan costs less than a search).
bool from_outside_interface(const Tables& tables, uint32_t indev) noexcept {
  if (indev == 0) return false;
  for (uint32_t i : tables.outside_ifindexes)
    if (i >= indev) return i == indev;
  return false;
}

// In an NPTv6 inside prefix or a masquerade table's source prefixes.
bool inside_source(const Tables& tables, const Address& src) noexcept {
  if (tables.nptv6 != nullptr && tables.nptv6->match(src, Direction::outbound) != nullptr) return true;
  for (size_t i = 0; i < tables.masquerade.size(); ++i)
    if (tables.masquerade_inside(i, src)) return true;
  return false;
}

// Which table claims the packet, matched once; the translator is told what matched.
Handled match_and_translate(const Tables& tables, Direction d, uint8_t* data, size_t len, uint32_t indev,
                            uint32_t outdev, CounterBlock& counters) noexcept {
  // A packet too short or not IPv6 has no addresses to dispatch on: a translator's parser drops and counts it.
  if (len < ip6::kHeaderLen || (data[0] >> 4) != 6) {
    if (tables.nptv6 != nullptr) return {translate_nptv6(*tables.nptv6, d, data, len, counters), Handled::By::nptv6, 0};
    return {translate_nat66(*tables.masquerade[0], d, data, len, tables.now_ms, counters), Handled::By::masquerade, 0};
  }
  const Address src = Address::from(data + ip6::kSrcOffset);
  const Address dst = Address::from(data + ip6::kDstOffset);
  const Address& key = d == Direction::outbound ? src : dst;
  // RFC 2827 (BCP 38) ingress filtering: an inside source cannot arrive from outside. Such a packet is forged;
  // as hairpin (which comes from inside, RFC 6296 s4.3, RFC 4787 REQ-9) it would get through and make mappings.
  if (d == Direction::inbound && from_outside_interface(tables, indev) && inside_source(tables, src)) [[unlikely]]
    return refused(counters, Counter::drop_spoofed_inside_source);
  if (tables.nptv6 != nullptr) {
    // Outbound, the output interface picks among several uplinks of one inside prefix (RFC 6296 s2.4).
    const Mapping* m = d == Direction::outbound ? tables.nptv6->match_outbound(key.high64(), outdev)
                                                : tables.nptv6->match(key, d);
    if (m != nullptr)
      return {translate_nptv6_matched(*tables.nptv6, *m, d, data, len, counters), Handled::By::nptv6, 0};
  }
  for (size_t i = 0; i < tables.masquerade.size(); ++i) {
    Nat66Table& t = *tables.masquerade[i];
    const auto index = static_cast<uint32_t>(i);
    if (d == Direction::outbound) {
      if (!tables.masquerade_inside(i, src)) continue;
      return {translate_nat66_matched(t, d, -1, data, len, tables.now_ms, counters), Handled::By::masquerade, index};
    }
    const int outside = t.outside_index(dst);
    if (outside < 0) continue;
    // From inside to our own outside address: hairpinning, translated both ways by the outbound path. (Not from
    // an outside interface: refused above. With the interface unknown, the source alone decides.)
    const Direction as = tables.masquerade_inside(i, src) ? Direction::outbound : Direction::inbound;
    return {translate_nat66_matched(t, as, outside, data, len, tables.now_ms, counters), Handled::By::masquerade, index};
  }
  return not_ours(counters);
}

// Queued at LOCAL_OUT: the rules send only the gateway's own ICMPv6 errors leaving by an outside interface
// (REFERENCE s6). One whose source is in an inside prefix is an inside packet to the translators: mangle
// POSTROUTING queues it again and translates it like any other (source and quote), so it passes here.
Handled from_host(const Tables& tables, uint8_t* data, size_t len, CounterBlock& counters) noexcept {
  if (len >= ip6::kHeaderLen && (data[0] >> 4) == 6 && inside_source(tables, Address::from(data + ip6::kSrcOffset)))
    return not_ours(counters);
  return translate_own_icmp_error(tables, data, len, counters);
}

}  // namespace

Handled dispatch(const Tables& tables, Direction d, Offload offload, uint8_t* data, size_t len,
                 CounterBlock& counters, Arrival arrival) noexcept {
  if (tables.nptv6 == nullptr && tables.masquerade.empty()) return refused(counters, Counter::drop_no_table);
  OffloadSite site;
  if (offload.any()) [[unlikely]] {
    if (Counter why = prepare_offload(data, len, offload, counters, site); why != Counter::count_)
      return refused(counters, why);
  }
  if (arrival.from_host && d == Direction::outbound) [[unlikely]]
    return from_host(tables, data, len, counters);
  Handled h = match_and_translate(tables, d, data, len, arrival.indev, arrival.outdev, counters);
  if (offload.gso && h.verdict.action == Action::translated) [[unlikely]] finish_offload(data, site);
  return h;
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
    case Counter::drop_offload_layout:
    case Counter::drop_spoofed_inside_source:
      return false;
    default:
      return true;
  }
}

}  // namespace npt66
