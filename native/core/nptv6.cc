#include "nptv6.h"

#include "packet_view.h"

namespace npt66 {
namespace {

constexpr bool kOk(Counter c) { return c == Counter::count_; }

Verdict refuse(CounterBlock& counters, Counter why, uint8_t pointer, uint32_t mapping) noexcept {
  counters.add(why);
  return Verdict::drop(why, pointer, mapping);
}

}  // namespace

Verdict translate_nptv6(const PrefixTable& table, Direction d, uint8_t* data, size_t len,
                        CounterBlock& counters) noexcept {
  PacketView v;
  Counter why;
  if (!parse_packet(data, len, v, why)) return refuse(counters, why, 0, 0);

  const bool out = d == Direction::outbound;
  const size_t field = out ? ip6::kSrcOffset : ip6::kDstOffset;
  Address addr = Address::from(data + field);
  const Mapping* m = table.match(addr, d);
  // ND and MLD are link-scoped control traffic: never translated (RFC 6296 s4.1 leaves them to each side).
  if (m == nullptr || (v.has_l4 && v.upper == ip6::kIcmpv6 && icmp6::is_nd_or_mld(v.icmp_type))) {
    counters.add(Counter::not_ours);
    return Verdict::pass();
  }
  if (Counter c = map_address(*m, d, addr); !kOk(c)) return refuse(counters, c, static_cast<uint8_t>(field), m->index);

  // An ICMPv6 error carries the packet that caused it (rfc6296-bis s3.8). Outbound, that packet was going to
  // the inside host, so its destination is an inside address; inbound, it left through us, so its source
  // is an outside address. Both must be translated or the sender cannot match the error to its flow.
  uint8_t* inner_field = nullptr;
  Address inner_addr;
  if (v.is_icmp_error()) {
    if (v.l4_len() < icmp6::kHeaderLen + ip6::kHeaderLen)
      return refuse(counters, Counter::drop_icmp_inner_truncated, 0, m->index);
    uint8_t* inner = data + v.l4 + icmp6::kHeaderLen;
    if ((inner[0] >> 4) != 6) return refuse(counters, Counter::drop_icmp_inner_not_in_prefix, 0, m->index);
    inner_field = inner + (out ? ip6::kDstOffset : ip6::kSrcOffset);
    inner_addr = Address::from(inner_field);
    const Mapping* im = table.match(inner_addr, d);
    if (im == nullptr) return refuse(counters, Counter::drop_icmp_inner_not_in_prefix, 0, m->index);
    if (Counter c = map_address(*im, d, inner_addr); !kOk(c)) return refuse(counters, c, 0, m->index);
  }

  addr.store(data + field);
  if (inner_field != nullptr) {
    inner_addr.store(inner_field);
    counters.add(out ? Counter::nptv6_icmp_error_outbound : Counter::nptv6_icmp_error_inbound);
  }
  counters.add(out ? Counter::nptv6_outbound : Counter::nptv6_inbound);
  return Verdict{Action::translated, out ? Counter::nptv6_outbound : Counter::nptv6_inbound, m->index, 0};
}

}  // namespace npt66
