// NAT66 masquerade packet translation: translate_nat66() on a Nat66Table, beside translate_nptv6() (nptv6.h).
//
// outbound (call from mangle POSTROUTING -o OUTSIDE_IF -s SOURCE):
//   TCP, UDP, ICMPv6 echo request from an inside source: the mapping is found or created, the source address
//   and port/id are rewritten, the TCP/UDP/ICMPv6 checksum updated incrementally (RFC 1624; UDP 0 -> 0xFFFF).
//   ICMPv6 errors (types 1-4) from inside about a flow that came in through a mapping: the embedded packet's
//   destination address+port/id and its checksum (when present in the quote) are mapped out, the outer source
//   too, and the ICMPv6 checksum is recomputed in full (RFC 5508 s4). Anything else from an inside source is
//   dropped (drop_nat66_protocol / _fragment / _no_mapping): fail-closed, the inside address never leaks.
// inbound (call from raw PREROUTING -i OUTSIDE_IF -d OUTSIDE_ADDRESS, for TCP/UDP to [port_min, port_max]
//   and 1-1023 if inside hosts use privileged source ports, ICMPv6 echo replies and ICMPv6 errors):
//   the destination address and port/id are mapped back, subject to filtering (drop_nat66_filtered). Packets
//   that match no mapping are the host's own (it shares the address): verdict not_ours, reason
//   nat66_inbound_unmapped, accept them. An ICMPv6 error quoting a TCP/UDP packet from a masquerade-range
//   port with no live mapping is dropped (drop_nat66_no_mapping); one about the host's own traffic passes.
// hairpinning (RFC 4787 REQ-9; call translate(outbound) from raw PREROUTING -i INSIDE_IF -s SOURCE
//   -d OUTSIDE_ADDRESS, TCP/UDP): when the destination is the outside address+port of a live mapping, the
//   packet is translated both ways (source mapped out, destination mapped in, filtering as if it came from
//   outside) and routed back inside: verdict translated, reason nat66_hairpin. Without such a mapping it is
//   traffic for the host itself: not_ours. Outbound packets in POSTROUTING never reach this case.
// Every drop leaves the packet byte-for-byte unchanged. Verdict::mapping is the binding's handle.
// Fragments: only a packet whose upper-layer header is present can be translated; queue after the kernel's
//   reassembly (conntrack's nf_defrag_ipv6 runs before raw PREROUTING) so whole datagrams arrive.
#pragma once

#include "counters.h"
#include "nat66_table.h"
#include "packet_view.h"
#include "verdict.h"

namespace npt66 {

// Translates the complete IPv6 packet at data[0, len) in place through table `t` and counts the outcome.
// outbound (mangle POSTROUTING, and raw PREROUTING from the inside interface for hairpinning): the source must be
// in an inside prefix, else not_ours. inbound (raw PREROUTING from outside): the destination must be an outside
// address, else not_ours. On drop the packet is unchanged (see above).
Verdict translate_nat66(Nat66Table& t, Direction d, uint8_t* data, size_t len, uint64_t now_ms,
                        CounterBlock& counters) noexcept;

// The same when the dispatch has already matched the packet to `t` (outbound: the source is inside; inbound: the
// destination is outside address number `outside`): no second match.
Verdict translate_nat66_matched(Nat66Table& t, Direction d, int outside, uint8_t* data, size_t len, uint64_t now_ms,
                                CounterBlock& counters) noexcept;

// RFC 5508 s4: the ICMPv6 error `v` quotes a packet that came in through a mapping (remote -> inside endpoint).
// Puts back what the remote sent: the quoted destination address and port/id become the live mapping's outside
// ones (the quoted TCP/UDP/echo checksum updated when the quote holds it), the outer source too when
// `outer_source_too` (an error from an inside host; the gateway's own errors keep their source), and the ICMPv6
// checksum is recomputed. Returns Counter::count_ and the mapping in `b`, or the reason it cannot (the packet is
// then unchanged): drop_nat66_no_mapping (no live mapping, or a quoted protocol masquerade never maps),
// drop_nat66_inner_truncated / drop_icmp_inner_truncated / a parse reason, drop_nat66_icmp_bad_checksum.
// Used by Nat66Table::translate (errors from inside) and own_icmp_error.h (the gateway's own errors).
Counter nat66_unmap_quoted_destination(const Nat66Table& t, const PacketView& v, bool outer_source_too, uint64_t now_ms,
                                       Nat66Binding& b) noexcept;

// True when a drop refused a new flow for lack of resources (RFC 6888): the engine should answer it with
// ICMPv6 Destination Unreachable code 1 "administratively prohibited" (rate-limited), built with
// build_icmp_error(icmp6::kDestUnreachable, 1, 0, <gateway inside address>, packet, len, ...).
constexpr bool nat66_answer_admin_prohibited(Counter reason) noexcept {
  return reason == Counter::drop_nat66_table_full || reason == Counter::drop_nat66_host_limit ||
         reason == Counter::drop_nat66_ports_exhausted || reason == Counter::drop_nat66_remote_limit;
}

}  // namespace npt66
