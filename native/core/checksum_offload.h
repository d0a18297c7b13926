// Checksum offload states of a queued packet (what NFQA_SKB_INFO tells with NFQA_CFG_F_GSO set), and the two
// steps around a translation that keep every checksum right whatever the state.
//
// What the kernel guarantees (net/netfilter/nfnetlink_queue.c, net/core/dev.c, net/ipv6/tcpv6_offload.c,
// net/ipv4/udp_offload.c, read for Linux 6.x):
// - NFQA_SKB_CSUMNOTREADY = the skb is CHECKSUM_PARTIAL: the TCP/UDP checksum field holds only the folded,
//   uncomplemented pseudo-header sum (__tcp_v6_send_check, udp6_hwcsum_outgoing, tcp/udp6_gro_complete); the
//   device or software segmentation was to finish it from csum_start, which NFQUEUE does not tell us.
// - NFQA_SKB_GSO = a GSO/GRO super-packet (up to 64 KB) that will be cut into MTU-sized segments later.
// - A verdict with a payload goes through nfqnl_mangle, which sets CHECKSUM_NONE. So:
//   * a CHECKSUM_PARTIAL packet that is not GSO is never completed by anybody after us: we complete it;
//   * a GSO packet is then not CHECKSUM_PARTIAL, so netif_needs_gso() sends it through software GSO on output.
//     tcp6_gso_segment() rebuilds the pseudo-header sum itself for such an skb and marks it CHECKSUM_PARTIAL
//     again, and tcp_gso_segment() hands it on whole when the device can segment it (skb_gso_ok): TCP leaves
//     as a super-packet. __udp_gso_segment() does neither: it takes uh->check as the pseudo-header sum of the
//     whole datagram (csum16_sub(uh->check, uh->len) + the segment length), adds each segment's data sum
//     (gso_make_checksum) and cuts it: UDP leaves as datagrams. So a GSO packet must leave with the
//     pseudo-header sum of its translated addresses and full L4 length in the field (test/netns/gso_*.test.ts
//     check both, with the receivers' checksum error counters).
// - NFQA_SKB_CSUM_NOTVERIFIED: a complete checksum nobody checked yet. Incremental updates (RFC 1624) keep a
//   wrong checksum wrong, so nothing needs doing.
#pragma once
#include <cstddef>
#include <cstdint>

#include "counters.h"

namespace npt66 {

struct Offload {
  bool gso = false;           // NFQA_SKB_GSO
  bool csum_partial = false;  // NFQA_SKB_CSUMNOTREADY (CHECKSUM_PARTIAL)
  bool any() const noexcept { return gso || csum_partial; }
};

// Where prepare_offload found the checksum field, for finish_offload: a translation rewrites addresses and ports,
// never the header chain, so the packet is parsed once.
struct OffloadSite {
  size_t check = 0;   // offset of the upper layer's checksum field
  size_t l4_len = 0;  // upper-layer length (the pseudo-header's)
  uint8_t upper = 0;  // upper-layer protocol
};

// Before translating. A CHECKSUM_PARTIAL packet that is not GSO gets its checksum completed here, so the
// translators see an ordinary packet with a full checksum (and keep it valid incrementally). A CHECKSUM_PARTIAL
// packet must be TCP, UDP or ICMPv6 whose checksum field holds exactly the pseudo-header sum of its own
// addresses and length: that proves the kernel's csum_start is this header (not, say, a tunnel's inner one).
// Returns Counter::count_ when the packet may be translated, else the drop reason; the packet is then unchanged.
// For a GSO packet it also fills `site` (and checks it is TCP or UDP).
Counter prepare_offload(uint8_t* data, size_t len, Offload o, CounterBlock& counters, OffloadSite& site) noexcept;

// After a translation that changed a GSO packet that prepare_offload accepted (which filled `site`): its TCP/UDP
// field gets the pseudo-header sum of the translated addresses (see above).
void finish_offload(uint8_t* data, const OffloadSite& site) noexcept;

}  // namespace npt66
