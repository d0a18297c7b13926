// The one per-packet dispatch: packet bytes + direction + checksum-offload state + the current tables -> Verdict.
// Pure (no netlink): the queue engine calls it once per queued packet. Each packet is matched once: the table that
// claims it is told what matched, and the translators do not look again.
//
// Order (the direction comes from the hook, REFERENCE s3):
//   prepare_offload (checksum_offload.h): a CHECKSUM_PARTIAL packet that is not GSO gets a full checksum first.
//   outbound (POSTROUTING/OUTPUT): source in an NPTv6 inside prefix -> NPTv6 (RFC 6296 s3.2);
//     (with several uplinks for that prefix, the mapping of Arrival::outdev: RFC 6296 s2.4, PrefixTable::match_outbound);
//     else source in a masquerade table's source prefixes -> that table's outbound (the first such table);
//     else not_ours.
//   inbound (PREROUTING/INPUT): arrived on an outside interface (Tables::outside_ifindexes) with a source in an
//     NPTv6 inside prefix or a masquerade source prefix -> dropped, drop_spoofed_inside_source (RFC 2827 ingress
//     filtering: forged, and never hairpin, which comes from inside);
//     else destination in an NPTv6 outside prefix -> NPTv6 (RFC 6296 s3.3);
//     else destination equal to one of a masquerade table's outside addresses -> that table's inbound: TCP, UDP,
//     ICMPv6 echo replies and ICMPv6 errors about mapped flows (RFC 5508 s4); what matches no mapping is the
//     host's own traffic and passes (nat66_inbound_unmapped);
//     else not_ours.
//   Hairpinning (RFC 4787 REQ-9): an inbound packet to a masquerade outside address whose source is in that same
//     table's source prefixes and that did not arrive on an outside interface came from inside (queued in raw
//     PREROUTING from the inside interface; with the interface unknown, the source alone decides). It goes to
//     the table's outbound path, which recognises the outside address as destination and translates both ways
//     at once: source mapped out, destination mapped back in, filtering applied as if the packet came from our
//     own outside address+port (so address-dependent filtering works). The rules also mark such packets and
//     queue them again in mangle POSTROUTING; by then the source is the outside address, which no table owns,
//     so that second pass is not_ours and the verdict (which carries no NFQA_MARK) leaves the mark alone.
//     NPTv6 hairpins the other way (destination in raw PREROUTING, source in POSTROUTING), since it is stateless.
//   The gateway's own ICMPv6 errors (REFERENCE s6): outbound with Arrival::from_host (queued at LOCAL_OUT, where
//     the rules queue only ICMPv6 errors 1-4 leaving by an outside interface) go to translate_own_icmp_error
//     (own_icmp_error.h), which maps the quoted packet's inside destination back to what the sender used; one
//     whose outer source is in an inside prefix passes (mangle POSTROUTING translates it as an inside packet).
//     Decided here only, before the matching below.
//   finish_offload: a translated GSO packet leaves with the pseudo-header sum its segmentation expects, at the
//     place prepare_offload found (the packet is not parsed again).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "checksum_offload.h"
#include "counters.h"
#include "nat66_table.h"
#include "prefix_map.h"
#include "verdict.h"

namespace npt66 {

// The tables one receive batch works with; read once per batch so a swap never splits a batch.
struct Tables {
  const PrefixTable* nptv6 = nullptr;
  std::span<const std::unique_ptr<Nat66Table>> masquerade;  // fixed for the engine's life
  uint64_t now_ms = 0;                                      // monotonic, read once per batch
  // The outside interfaces' ifindexes (sorted, a handful): what arrives on one of them is from outside. Empty
  // when unknown (tests, an embedder that names none): then hairpin is decided by the source, as before.
  std::span<const uint32_t> outside_ifindexes;
  // Each masquerade table's source prefixes as taken for this batch (index-aligned with `masquerade`), so a
  // set_sources() never splits a batch. Empty (tests): each table's current set, loaded per use.
  std::span<const Nat66Sources* const> masquerade_sources;

  // Is `a` in masquerade table i's source prefixes?
  bool masquerade_inside(size_t i, const Address& a) const noexcept {
    return masquerade_sources.empty() ? masquerade[i]->is_inside(a) : masquerade_sources[i]->contains(a);
  }
};

// Which table decided, so per-mapping and per-masquerade counters land on the right one.
struct Handled {
  enum class By : uint8_t { none, nptv6, masquerade };
  Verdict verdict;
  By by = By::none;
  uint32_t masquerade = 0;  // index into Tables::masquerade when by == masquerade
};

// Where a queued packet came from, beyond its bytes (NFQUEUE metadata).
struct Arrival {
  uint32_t indev = 0;      // NFQA_IFINDEX_INDEV: the interface it came in on; 0 for the host's own packets
  bool from_host = false;  // queued at LOCAL_OUT: the gateway itself sent it (e.g. its own ICMPv6 errors)
  uint32_t outdev = 0;     // NFQA_IFINDEX_OUTDEV: the interface it leaves by; picks the uplink (RFC 6296 s2.4)
};

// Translates data[0, len) in place. A refusal leaves the bytes as the translator got them (fail-open may pass
// the original: the kernel keeps its own copy when the verdict carries no payload). Counts the outcome's reason
// in `counters` (the queue_* verdict counters are the caller's).
Handled dispatch(const Tables& tables, Direction d, Offload offload, uint8_t* data, size_t len,
                 CounterBlock& counters, Arrival arrival = {}) noexcept;

// True when an NPTv6 drop verdict is about one mapping (a refusal) rather than a malformed or unmatched packet.
bool drop_names_mapping(const Verdict& v) noexcept;

}  // namespace npt66
