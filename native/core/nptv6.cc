#include "nptv6.h"

#include <bit>
#include <cstddef>
#include <cstring>

#include "packet_view.h"

namespace npt66 {
namespace {

constexpr bool kOk(Counter c) { return c == Counter::count_; }

// A Verdict built in registers. Left to itself GCC assembles the 12-byte struct field by field on the stack
// and reloads it whole, a load that store-to-load forwarding cannot serve, on every packet.
inline Verdict make_verdict(Action a, Counter reason, uint32_t mapping, uint8_t pointer) noexcept {
  if constexpr (std::endian::native == std::endian::little && sizeof(Verdict) == 12 && offsetof(Verdict, action) == 0 &&
                offsetof(Verdict, reason) == 2 && offsetof(Verdict, mapping) == 4 &&
                offsetof(Verdict, pointer) == 8 && offsetof(Verdict, answer) == 9) {
    const uint64_t head = uint64_t{static_cast<uint8_t>(a)} | uint64_t{static_cast<uint16_t>(reason)} << 16 |
                          uint64_t{mapping} << 32;
    // A refusal naming an address is answered with Parameter Problem (Verdict::drop's rule).
    const uint32_t tail = pointer | (pointer != 0 ? uint32_t{static_cast<uint8_t>(IcmpAnswer::param_problem)} << 8 : 0);
    Verdict v;
    std::memcpy(static_cast<void*>(&v), &head, 8);
    std::memcpy(reinterpret_cast<unsigned char*>(&v) + 8, &tail, 4);
    return v;
  } else {
    return a == Action::drop ? Verdict::drop(reason, pointer, mapping) : Verdict{a, reason, mapping, pointer};
  }
}

Verdict refuse(CounterBlock& counters, Counter why, uint8_t pointer, uint32_t mapping) noexcept {
  counters.add(why);
  return make_verdict(Action::drop, why, mapping, pointer);
}

// The common packet: TCP, UDP or a non-error ICMPv6 message right after the fixed header, well formed. For
// it, parse_packet() would find exactly that (payload >= 4 also covers the ICMPv6 type/code read), so only the
// address needs work. Anything else (extension headers, ICMPv6 errors, ND/MLD, malformed) takes the general path.
[[gnu::always_inline]] inline bool is_plain(const uint8_t* data, size_t len) noexcept {
  if (data == nullptr || len < ip6::kHeaderLen + 4) return false;
  // Bytes 0..43 exist. 4 <= payload <= len - 40 as one unsigned compare (a payload below 4 wraps around).
  const size_t payload = load_be16(data + 4);
  const bool ok = ((data[0] >> 4) == 6) & (payload - 4 <= len - (ip6::kHeaderLen + 4));
  if (!ok) return false;
  const uint8_t next = data[6];
  if ((next == ip6::kTcp) | (next == ip6::kUdp)) return true;
  const uint8_t type = data[ip6::kHeaderLen];
  return next == ip6::kIcmpv6 && !icmp6::is_error(type) && !icmp6::is_nd_or_mld(type);
}

// translate_nptv6 for a plain packet once its mapping is known: the address is read, mapped and written as two
// 64-bit halves in place. With CountTranslated false the caller counts the translations; refusals are counted here.
template <Direction D, bool CountTranslated = true>
[[gnu::always_inline]] inline Verdict rewrite_plain(const Mapping& m, uint8_t* data, CounterBlock& counters) noexcept {
  constexpr size_t field = D == Direction::outbound ? ip6::kSrcOffset : ip6::kDstOffset;
  uint8_t* at = data + field;
  uint64_t hi = load_be64(at), lo = load_be64(at + 8);
  const bool iid_changes = m.len > 48;  // s3.4: with L <= 48 the interface identifier is left as it is
  const uint32_t index = m.index;      // (read before the stores, which could alias the table as far as
                                       // the compiler knows)
  if (Counter c = map_halves<D>(m, hi, lo); !kOk(c)) return refuse(counters, c, field, index);
  store_be64(at, hi);
  if (iid_changes) store_be64(at + 8, lo);
  constexpr Counter what = D == Direction::outbound ? Counter::nptv6_outbound : Counter::nptv6_inbound;
  if constexpr (CountTranslated) counters.add(what);
  return make_verdict(Action::translated, what, index, 0);
}

// translate_nptv6 for a plain packet: match, then rewrite_plain. Specialised by direction and for the one-pair table.
template <Direction D, bool OnePair>
[[gnu::always_inline]] inline Verdict translate_plain(const PrefixTable& table, uint8_t* data,
                                                      CounterBlock& counters) noexcept {
  constexpr size_t field = D == Direction::outbound ? ip6::kSrcOffset : ip6::kDstOffset;
  const uint64_t hi = load_be64(data + field);
  const Mapping* m = OnePair ? table.match_only(hi, D) : table.match_high(hi, D);
  if (m == nullptr) {
    counters.add(Counter::not_ours);
    return make_verdict(Action::not_ours, Counter::not_ours, 0, 0);
  }
  return rewrite_plain<D>(*m, data, counters);
}

// One plain packet per call, as a leaf function of its own.
template <Direction D, bool OnePair>
[[gnu::noinline]] Verdict translate_one(const PrefixTable& table, uint8_t* data, CounterBlock& counters) noexcept {
  return translate_plain<D, OnePair>(table, data, counters);
}

// Every other packet: parse the whole chain, then the address and, for an ICMPv6 error, the quoted one.
// Kept out of line so the plain path stays a small leaf function without its stack frame.
// `known` is the mapping the caller already matched on the translated address, or null to match here.
[[gnu::noinline]] Verdict translate_general(const PrefixTable& table, const Mapping* known, Direction d, uint8_t* data,
                                           size_t len, CounterBlock& counters) noexcept {
  PacketView v;
  Counter why;
  if (!parse_packet(data, len, v, why)) return refuse(counters, why, 0, 0);

  const bool out = d == Direction::outbound;
  const size_t field = out ? ip6::kSrcOffset : ip6::kDstOffset;
  Address addr = Address::from(data + field);
  const Mapping* m = known != nullptr ? known : table.match(addr, d);
  // ND and MLD are link-scoped control traffic: never translated (RFC 6296 s4.1 leaves them to each side). Outbound
  // from an inside source, only the link-scoped ones pass: any other would leave with the inside address.
  const bool nd_or_mld = v.has_l4 && v.upper == ip6::kIcmpv6 && icmp6::is_nd_or_mld(v.icmp_type);
  if (m != nullptr && nd_or_mld && out && !icmp6::is_link_scoped(v.src(), v.dst()))
    return refuse(counters, Counter::drop_nd_mld_off_link, 0, m->index);
  if (m == nullptr || nd_or_mld) {
    counters.add(Counter::not_ours);
    return make_verdict(Action::not_ours, Counter::not_ours, 0, 0);
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
  return make_verdict(Action::translated, out ? Counter::nptv6_outbound : Counter::nptv6_inbound, m->index, 0);
}

}  // namespace

Verdict translate_nptv6(const PrefixTable& table, Direction d, uint8_t* data, size_t len,
                        CounterBlock& counters) noexcept {
  if (!is_plain(data, len)) [[unlikely]]
    return translate_general(table, nullptr, d, data, len, counters);
  const bool one = table.mappings().size() == 1;
  if (d == Direction::outbound)
    return one ? translate_one<Direction::outbound, true>(table, data, counters)
               : translate_one<Direction::outbound, false>(table, data, counters);
  return one ? translate_one<Direction::inbound, true>(table, data, counters)
             : translate_one<Direction::inbound, false>(table, data, counters);
}

Verdict translate_nptv6_matched(const PrefixTable& table, const Mapping& m, Direction d, uint8_t* data, size_t len,
                                CounterBlock& counters) noexcept {
  if (!is_plain(data, len)) [[unlikely]]
    return translate_general(table, &m, d, data, len, counters);
  return d == Direction::outbound ? rewrite_plain<Direction::outbound>(m, data, counters)
                                  : rewrite_plain<Direction::inbound>(m, data, counters);
}

}  // namespace npt66
