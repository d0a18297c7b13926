// Nat66Table::translate: packet view -> flow -> table -> rewrite -> checksum -> verdict. See nat66_translate.h.
#include "nat66_translate.h"

#include <algorithm>

#include "checksum.h"
#include "nat66_table.h"
#include "packet_view.h"

namespace npt66 {
namespace {

// Where an upper-layer header keeps what masquerade reads and rewrites (offsets from its start).
struct L4Layout {
  Nat66Proto proto;
  size_t sport, dport, check, min_len;
};
constexpr L4Layout kTcp{Nat66Proto::tcp, 0, 2, 16, 20};
constexpr L4Layout kUdp{Nat66Proto::udp, 0, 2, 6, 8};
constexpr L4Layout kEcho{Nat66Proto::icmp, 4, 4, 2, 8};  // RFC 4443 s4: the identifier is the "port"

Verdict refuse(CounterBlock& counters, Counter why) noexcept {
  counters.add(why);
  Verdict v = Verdict::drop(why);
  // RFC 6888 REQ-3/4: a new flow refused for lack of resources learns why instead of retrying blindly.
  if (nat66_answer_admin_prohibited(why)) v.answer = IcmpAnswer::admin_prohibited;
  return v;
}

Verdict pass(CounterBlock& counters, Counter why) noexcept {
  counters.add(why);
  return Verdict{Action::not_ours, why, 0, 0};
}

Verdict translated(CounterBlock& counters, Counter what, uint32_t handle) noexcept {
  counters.add(what);
  return Verdict{Action::translated, what, handle, 0};
}

// The layout for an upper layer masquerade maps, given the ICMPv6 echo type this direction carries.
const L4Layout* layout_for(uint8_t upper, uint8_t icmp_type, uint8_t echo_type) noexcept {
  if (upper == ip6::kTcp) return &kTcp;
  if (upper == ip6::kUdp) return &kUdp;
  if (upper == ip6::kIcmpv6 && icmp_type == echo_type) return &kEcho;
  return nullptr;
}

// Reads the flow of a packet whose upper layer is complete. Returns Counter::count_ or why it cannot map.
Counter read_flow(const PacketView& v, uint8_t echo_type, Nat66Flow& f, const L4Layout*& lay) noexcept {
  lay = layout_for(v.upper, v.icmp_type, echo_type);
  if (lay == nullptr) return Counter::drop_nat66_protocol;
  if (v.l4_len() < lay->min_len) return Counter::drop_nat66_l4_truncated;
  const uint8_t* l4 = v.data + v.l4;
  f.proto = lay->proto;
  f.src = v.src();
  f.dst = v.dst();
  f.sport = load_be16(l4 + lay->sport);
  f.dport = load_be16(l4 + lay->dport);
  f.tcp_flags = lay->proto == Nat66Proto::tcp ? l4[13] : 0;
  f.bytes = static_cast<uint32_t>(v.len);
  return Counter::count_;
}

// Rewrites the address at `addr_at` and the port at `port_at`, updating the checksum at `check_at` (if any)
// incrementally (RFC 1624 eqn 3): both are covered, the address through the pseudo-header (RFC 8200 s8.1).
// UDP: a result of 0 is sent as 0xFFFF; a quoted (inner) UDP checksum of 0 is left as it was.
void rewrite(uint8_t* addr_at, const Address& to, uint8_t* port_at, uint16_t port, uint8_t* check_at,
             bool udp) noexcept {
  if (check_at != nullptr) {
    uint16_t c = load_be16(check_at);
    if (!(udp && c == 0)) {
      uint16_t old_sum = csum::add(csum::sum_address(Address::from(addr_at)), load_be16(port_at));
      uint16_t new_sum = csum::add(csum::sum_address(to), port);
      c = csum::update(c, old_sum, new_sum);
      if (udp && c == 0) c = 0xFFFF;
      store_be16(check_at, c);
    }
  }
  to.store(addr_at);
  store_be16(port_at, port);
}

// Port forwards (nat66_forwards.h): stateless, before any mapping. Returns true with `out` set when `f` belongs
// to a forward. Inbound: to an outside address and a forward's port -> the forward's inside endpoint, the remote
// kept as the source. Outbound: from a forward's inside endpoint -> from the outside address and the forward's
// port. UDP with checksum 0 is refused as everywhere else (RFC 8200 s8.1).
bool forward_inbound(const Nat66Table& t, const PacketView& v, const Nat66Flow& f, const L4Layout& lay,
                     CounterBlock& c, Verdict& out) noexcept {
  if (f.proto == Nat66Proto::icmp) return false;
  Nat66ForwardsPtr forwards = t.forwards_if_any();
  if (!forwards) return false;
  const Nat66Forward* fw = forwards->by_port(f.proto, f.dport);
  if (fw == nullptr) return false;
  uint8_t* l4 = v.data + v.l4;
  bool udp = f.proto == Nat66Proto::udp;
  if (udp && load_be16(l4 + lay.check) == 0) {
    out = refuse(c, Counter::drop_nat66_udp_zero_checksum);
    return true;
  }
  // Its answers are masqueraded only from a source prefix ("source": "docker": a network that went, or a
  // forward set before its network came): otherwise they would leave with the inside address.
  if (!t.is_inside(fw->inside)) {
    out = refuse(c, Counter::drop_nat66_forward_unsourced);
    return true;
  }
  rewrite(v.data + ip6::kDstOffset, fw->inside, l4 + lay.dport, fw->inside_port, l4 + lay.check, udp);
  out = translated(c, Counter::nat66_forward_inbound, 0);
  return true;
}

bool forward_outbound(const Nat66Table& t, const PacketView& v, const Nat66Flow& f, const L4Layout& lay,
                      CounterBlock& c, Verdict& out) noexcept {
  if (f.proto == Nat66Proto::icmp) return false;
  Nat66ForwardsPtr forwards = t.forwards_if_any();
  if (!forwards) return false;
  const Nat66Forward* fw = forwards->by_inside(f.proto, f.src, f.sport);
  if (fw == nullptr) return false;
  Address outside;
  if (t.outside_slot(f.src, outside) < 0) {
    out = refuse(c, Counter::drop_nat66_no_address);
    return true;
  }
  uint8_t* l4 = v.data + v.l4;
  rewrite(v.data + ip6::kSrcOffset, outside, l4 + lay.sport, fw->port, l4 + lay.check,
          f.proto == Nat66Proto::udp);
  out = translated(c, Counter::nat66_forward_outbound, 0);
  return true;
}

// The binding a forward gives an ICMPv6 error's quoted packet (RFC 5508 s4 applied to forwards): by its inside
// endpoint (an error from inside about what the remote sent in) or by the outside address and published port
// (an error from outside about what the inside endpoint sent out). No mapping: handle 0.
bool forward_by_inside(const Nat66Table& t, Nat66Proto p, const Address& a, uint16_t port, Nat66Binding& b) noexcept {
  Nat66ForwardsPtr forwards = p == Nat66Proto::icmp ? nullptr : t.forwards_if_any();
  const Nat66Forward* fw = forwards ? forwards->by_inside(p, a, port) : nullptr;
  if (fw == nullptr) return false;
  b = Nat66Binding{};
  if (t.outside_slot(a, b.outside) < 0) return false;
  b.outside_port = fw->port, b.inside = a, b.inside_port = port;
  return true;
}

bool forward_by_outside(const Nat66Table& t, Nat66Proto p, const Address& a, uint16_t port, Nat66Binding& b) noexcept {
  Nat66ForwardsPtr forwards = p == Nat66Proto::icmp || t.outside_index(a) < 0 ? nullptr : t.forwards_if_any();
  const Nat66Forward* fw = forwards ? forwards->by_port(p, port) : nullptr;
  if (fw == nullptr) return false;
  b = Nat66Binding{};
  b.outside = a, b.outside_port = port, b.inside = fw->inside, b.inside_port = fw->inside_port;
  return true;
}

// A complete ICMPv6 message verifies: the one's-complement sum over pseudo-header and message is all ones.
bool icmp_checksum_ok(const PacketView& v) noexcept {
  return csum::upper_layer(v.src(), v.dst(), ip6::kIcmpv6, v.data + v.l4, v.l4_len()) == 0;
}

void recompute_icmp_checksum(const PacketView& v) noexcept {
  uint8_t* l4 = v.data + v.l4;
  store_be16(l4 + 2, 0);
  store_be16(l4 + 2, csum::upper_layer(v.src(), v.dst(), ip6::kIcmpv6, l4, v.l4_len()));
}

// The packet quoted by an ICMPv6 error, as far as masquerade needs it.
struct Quoted {
  PacketView v;
  const L4Layout* lay = nullptr;
  uint8_t* l4 = nullptr;
  uint8_t* check = nullptr;  // null when the quote is cut before the checksum field
};

// Parses the quote. `echo_type` is the echo message the quoted packet would be (request for an inbound error
// about what an inside host sent, reply for an outbound error about what it received). Returns count_,
// drop_nat66_no_mapping for a protocol masquerade never maps, or another drop reason.
Counter read_quoted(const PacketView& outer, uint8_t echo_type, Quoted& q) noexcept {
  size_t at = outer.l4 + icmp6::kHeaderLen;
  if (outer.len < at + ip6::kHeaderLen) return Counter::drop_icmp_inner_truncated;
  Counter why;
  if (!parse_embedded(outer.data + at, outer.len - at, q.v, why)) return why;
  if (!q.v.has_l4) return Counter::drop_nat66_inner_truncated;
  q.lay = layout_for(q.v.upper, q.v.icmp_type, echo_type);
  if (q.lay == nullptr) return Counter::drop_nat66_no_mapping;
  size_t need = std::max(q.lay->sport, q.lay->dport) + 2;
  if (q.v.l4_len() < need) return Counter::drop_nat66_inner_truncated;
  q.l4 = q.v.data + q.v.l4;
  q.check = q.v.l4_len() >= q.lay->check + 2 ? q.l4 + q.lay->check : nullptr;
  return Counter::count_;
}

}  // namespace

// See nat66_translate.h. The quoted packet went remote -> inside host; put back what the remote sent.
Counter nat66_unmap_quoted_destination(const Nat66Table& t, const PacketView& v, bool outer_source_too, uint64_t now,
                                       Nat66Binding& b) noexcept {
  Quoted q;
  if (Counter why = read_quoted(v, icmp6::kEchoReply, q); why != Counter::count_) return why;
  const uint16_t dport = load_be16(q.l4 + q.lay->dport);
  if (t.find_inside(q.lay->proto, q.v.dst(), dport, now, b) != Nat66Lookup::found &&
      !forward_by_inside(t, q.lay->proto, q.v.dst(), dport, b))
    return Counter::drop_nat66_no_mapping;
  if (!icmp_checksum_ok(v)) return Counter::drop_nat66_icmp_bad_checksum;
  rewrite(q.v.data + ip6::kDstOffset, b.outside, q.l4 + q.lay->dport, b.outside_port, q.check,
          q.lay->proto == Nat66Proto::udp);
  if (outer_source_too) b.outside.store(v.data + ip6::kSrcOffset);
  recompute_icmp_checksum(v);
  return Counter::count_;
}

namespace {

// --- outbound ---

// RFC 5508 s4.2: an error from inside about a packet that came in through a mapping: the quoted packet and the
// outer source are mapped out.
Verdict outbound_error(Nat66Table& t, const PacketView& v, uint64_t now, CounterBlock& c) noexcept {
  Nat66Binding b;
  if (Counter why = nat66_unmap_quoted_destination(t, v, true, now, b); why != Counter::count_) return refuse(c, why);
  return translated(c, Counter::nat66_icmp_error_outbound, b.handle);
}

// RFC 4787 REQ-9: inside -> the outside address. A live mapping there makes it hairpin traffic; otherwise the
// packet is for the host itself (ping, its own services) and passes untouched.
// The peer's mapping sees this packet as coming from our own outside address+port, so filtering applies exactly
// as for a remote host. Filtering looks at the remote's address only, and the sender's outside address is known
// before its mapping exists (paired pooling: outside_for), so the filter is checked first: a refused packet makes
// no mapping (a stream of them, e.g. scanning the outside ports, must not fill the table). A sender that already
// has a mapping still records the attempt, as a packet leaving for a remote would: that is how two inside hosts
// punch holes towards each other (RFC 5128 s3.3).
Verdict to_outside_address(Nat66Table& t, const PacketView& v, const Nat66Flow& f, const L4Layout& lay,
                           uint64_t now, CounterBlock& c) noexcept {
  Nat66Binding peer, self;
  if (f.proto == Nat66Proto::icmp) return pass(c, Counter::not_ours);
  // The sender's side: its own forward when it is a forward's inside endpoint (a published service answering),
  // else its mapping.
  auto map_sender = [&]() noexcept {
    return forward_by_inside(t, f.proto, f.src, f.sport, self) ? Counter::count_ : t.outbound(f, now, self, c);
  };
  // A published port (nat66_forwards.h): open to every sender, as from outside; no mapping on that side.
  if (forward_by_outside(t, f.proto, f.dst, f.dport, peer)) {
    if (Counter why = map_sender(); why != Counter::count_) return refuse(c, why);
  } else {
    const Address self_address = t.outside_for(f.src);
    switch (t.find_outside(f.proto, f.dst, f.dport, now, peer, &self_address)) {
      case Nat66Lookup::found: break;
      case Nat66Lookup::absent: return pass(c, Counter::not_ours);
      case Nat66Lookup::filtered:
        if (t.find_inside(f.proto, f.src, f.sport, now, self) == Nat66Lookup::found) (void)t.outbound(f, now, self, c);
        return refuse(c, Counter::drop_nat66_filtered);
    }
    if (Counter why = map_sender(); why != Counter::count_) return refuse(c, why);
    Nat66Flow in = f;
    in.src = self.outside;
    in.sport = self.outside_port;
    switch (t.inbound(in, now, peer, c)) {
      case Nat66Lookup::found: break;
      case Nat66Lookup::filtered: return refuse(c, Counter::drop_nat66_filtered);
      case Nat66Lookup::absent: return pass(c, Counter::not_ours);  // expired in between: now the host's
    }
  }
  uint8_t* l4 = v.data + v.l4;
  bool udp = f.proto == Nat66Proto::udp;
  rewrite(v.data + ip6::kSrcOffset, self.outside, l4 + lay.sport, self.outside_port, l4 + lay.check, udp);
  rewrite(v.data + ip6::kDstOffset, peer.inside, l4 + lay.dport, peer.inside_port, l4 + lay.check, udp);
  return translated(c, Counter::nat66_hairpin, self.handle);
}

// `matched`: the dispatch has already found the source inside. `to_outside`: the destination is known to be one
// of the outside addresses (the dispatch saw it: hairpinning), else it is looked up here.
Verdict translate_outbound(Nat66Table& t, const PacketView& v, bool matched, bool to_outside, uint64_t now,
                           CounterBlock& c) noexcept {
  if (!matched && !t.is_inside(v.src())) return pass(c, Counter::not_ours);
  // ND/MLD stays on its link untranslated; from an inside source to a routable destination it would leak.
  if (v.has_l4 && v.upper == ip6::kIcmpv6 && icmp6::is_nd_or_mld(v.icmp_type))
    return icmp6::is_link_scoped(v.src(), v.dst()) ? pass(c, Counter::not_ours) : refuse(c, Counter::drop_nd_mld_off_link);
  if (!v.has_l4) return refuse(c, v.fragment ? Counter::drop_nat66_fragment : Counter::drop_nat66_protocol);
  if (v.is_icmp_error()) return outbound_error(t, v, now, c);

  Nat66Flow f;
  const L4Layout* lay;
  if (Counter why = read_flow(v, icmp6::kEchoRequest, f, lay); why != Counter::count_) return refuse(c, why);
  uint8_t* l4 = v.data + v.l4;
  bool udp = f.proto == Nat66Proto::udp;
  if (udp && load_be16(l4 + lay->check) == 0) return refuse(c, Counter::drop_nat66_udp_zero_checksum);
  if (to_outside || t.outside_index(f.dst) >= 0) return to_outside_address(t, v, f, *lay, now, c);
  if (Verdict fv; forward_outbound(t, v, f, *lay, c, fv)) return fv;

  Nat66Binding b;
  if (Counter why = t.outbound(f, now, b, c); why != Counter::count_) return refuse(c, why);
  rewrite(v.data + ip6::kSrcOffset, b.outside, l4 + lay->sport, b.outside_port, l4 + lay->check, udp);
  return translated(c, Counter::nat66_outbound, b.handle);
}

// --- inbound ---

// RFC 5508 s4.1: an error from outside about a packet an inside host sent through a mapping. The quoted packet
// went outside address+port -> remote; put back the inside source, then the outer destination.
Verdict inbound_error(Nat66Table& t, const PacketView& v, uint64_t now, CounterBlock& c) noexcept {
  Quoted q;
  Counter why = read_quoted(v, icmp6::kEchoRequest, q);
  if (why == Counter::drop_nat66_no_mapping) return pass(c, Counter::nat66_inbound_unmapped);  // not a mapped kind
  if (why != Counter::count_) return refuse(c, why);
  const Address quoted_src = q.v.src(), quoted_dst = q.v.dst();
  const uint16_t sport = load_be16(q.l4 + q.lay->sport);
  Nat66Binding b;
  switch (t.find_outside(q.lay->proto, quoted_src, sport, now, b, &quoted_dst)) {
    case Nat66Lookup::found: break;
    case Nat66Lookup::filtered: return refuse(c, Counter::drop_nat66_filtered);
    case Nat66Lookup::absent: {
      if (forward_by_outside(t, q.lay->proto, quoted_src, sport, b)) break;  // about what a forward sent out
      // The host shares the address: an error about its own traffic (ports outside the masquerade range, or
      // any echo) is left to it. One about a masquerade port nobody holds is stale or forged.
      bool ours = q.lay->proto != Nat66Proto::icmp && t.outside_index(quoted_src) >= 0 &&
                  t.in_port_range(sport);
      return ours ? refuse(c, Counter::drop_nat66_no_mapping) : pass(c, Counter::nat66_inbound_unmapped);
    }
  }
  if (!icmp_checksum_ok(v)) return refuse(c, Counter::drop_nat66_icmp_bad_checksum);
  rewrite(q.v.data + ip6::kSrcOffset, b.inside, q.l4 + q.lay->sport, b.inside_port, q.check,
          q.lay->proto == Nat66Proto::udp);
  b.inside.store(v.data + ip6::kDstOffset);
  recompute_icmp_checksum(v);
  return translated(c, Counter::nat66_icmp_error_inbound, b.handle);
}

// `outside`: the destination's index among the outside addresses when the dispatch knows it, else -1.
Verdict translate_inbound(Nat66Table& t, const PacketView& v, int outside, uint64_t now, CounterBlock& c) noexcept {
  if (outside < 0 && t.outside_index(v.dst()) < 0) return pass(c, Counter::not_ours);
  if (!v.has_l4) return pass(c, Counter::nat66_inbound_unmapped);  // ESP, a later fragment: the host's
  if (v.upper == ip6::kIcmpv6 && icmp6::is_nd_or_mld(v.icmp_type)) return pass(c, Counter::not_ours);
  if (v.is_icmp_error()) return inbound_error(t, v, now, c);

  Nat66Flow f;
  const L4Layout* lay;
  Counter why = read_flow(v, icmp6::kEchoReply, f, lay);
  if (why == Counter::drop_nat66_protocol) return pass(c, Counter::nat66_inbound_unmapped);  // e.g. ping the host
  if (why != Counter::count_) return refuse(c, why);
  if (Verdict fv; forward_inbound(t, v, f, *lay, c, fv)) return fv;
  uint8_t* l4 = v.data + v.l4;
  bool udp = f.proto == Nat66Proto::udp;
  Nat66Binding b;
  if (udp && load_be16(l4 + lay->check) == 0) {
    if (t.find_outside(f.proto, f.dst, f.dport, now, b) == Nat66Lookup::found)
      return refuse(c, Counter::drop_nat66_udp_zero_checksum);
    return pass(c, Counter::nat66_inbound_unmapped);
  }
  switch (t.inbound(f, now, b, c)) {
    case Nat66Lookup::found: break;
    case Nat66Lookup::filtered: return refuse(c, Counter::drop_nat66_filtered);
    case Nat66Lookup::absent: return pass(c, Counter::nat66_inbound_unmapped);
  }
  rewrite(v.data + ip6::kDstOffset, b.inside, l4 + lay->dport, b.inside_port, l4 + lay->check, udp);
  return translated(c, Counter::nat66_inbound, b.handle);
}

}  // namespace

Verdict translate_nat66(Nat66Table& t, Direction d, uint8_t* data, size_t len, uint64_t now_ms,
                        CounterBlock& counters) noexcept {
  PacketView v;
  Counter why;
  if (!parse_packet(data, len, v, why)) return refuse(counters, why);
  return d == Direction::outbound ? translate_outbound(t, v, false, false, now_ms, counters)
                                  : translate_inbound(t, v, -1, now_ms, counters);
}

Verdict translate_nat66_matched(Nat66Table& t, Direction d, int outside, uint8_t* data, size_t len, uint64_t now_ms,
                                CounterBlock& counters) noexcept {
  PacketView v;
  Counter why;
  if (!parse_packet(data, len, v, why)) return refuse(counters, why);
  return d == Direction::outbound ? translate_outbound(t, v, true, outside >= 0, now_ms, counters)
                                  : translate_inbound(t, v, outside, now_ms, counters);
}

}  // namespace npt66
