#include "checksum_offload.h"

#include "checksum.h"
#include "packet_view.h"

namespace npt66 {
namespace {

// Offset of the checksum field in the upper-layer header, or 0 when npt66 does not know where it is.
size_t check_offset(uint8_t upper) noexcept {
  switch (upper) {
    case ip6::kTcp: return 16;
    case ip6::kUdp: return 6;
    case ip6::kIcmpv6: return 2;
    default: return 0;
  }
}

// The folded, uncomplemented pseudo-header sum (RFC 8200 s8.1) as the kernel stores it for CHECKSUM_PARTIAL, over
// the addresses the packet holds now.
uint16_t pseudo_sum(const uint8_t* data, size_t l4_len, uint8_t upper) noexcept {
  uint16_t s = csum::add(csum::sum_address(Address::from(data + ip6::kSrcOffset)),
                         csum::sum_address(Address::from(data + ip6::kDstOffset)));
  s = csum::add(s, static_cast<uint16_t>(l4_len >> 16));
  s = csum::add(s, static_cast<uint16_t>(l4_len & 0xFFFF));
  return csum::add(s, upper);
}

// 0x0000 and 0xFFFF are the same number in one's complement.
bool same_sum(uint16_t a, uint16_t b) noexcept {
  return a == b || (a == 0 && b == 0xFFFF) || (a == 0xFFFF && b == 0);
}

// Where the checksum of a packet with offloaded state lives, or null (then `why` says why not).
uint8_t* locate(uint8_t* data, size_t len, bool need_tcp_udp, PacketView& v, Counter& why) noexcept {
  if (!parse_packet(data, len, v, why)) return nullptr;
  why = Counter::drop_offload_layout;
  // The pseudo-header of a packet with a Routing header uses its final destination (RFC 8200 s8.1): not ours
  // to work out, and no sender offloads such packets.
  if (!v.has_l4 || v.fragment || v.routing) return nullptr;
  if (need_tcp_udp && v.upper != ip6::kTcp && v.upper != ip6::kUdp) return nullptr;
  const size_t at = check_offset(v.upper);
  if (at == 0 || v.l4_len() < at + 2) return nullptr;
  return data + v.l4 + at;
}

}  // namespace

Counter prepare_offload(uint8_t* data, size_t len, Offload o, CounterBlock& counters, OffloadSite& site) noexcept {
  if (o.gso) counters.add(Counter::offload_gso_packets);
  if (!o.any()) return Counter::count_;
  PacketView v;
  Counter why;
  uint8_t* check = locate(data, len, o.gso, v, why);
  if (check == nullptr) return why;
  site = {static_cast<size_t>(check - data), v.l4_len(), v.upper};
  if (!o.csum_partial) return Counter::count_;
  if (!same_sum(load_be16(check), pseudo_sum(data, v.l4_len(), v.upper))) return Counter::drop_offload_layout;
  if (o.gso) return Counter::count_;  // segmentation finishes it; finish_offload keeps the pseudo-header sum right
  // Complete it as skb_checksum_help() would: the field already holds the pseudo-header sum, so the sum over
  // the upper layer is the whole sum. A UDP result of 0 is sent as 0xFFFF (RFC 8200 s8.1, CSUM_MANGLED_0).
  uint16_t c = static_cast<uint16_t>(~csum::sum_bytes(data + v.l4, v.l4_len()));
  if (c == 0 && v.upper == ip6::kUdp) c = 0xFFFF;
  store_be16(check, c);
  counters.add(Counter::offload_checksum_completed);
  return Counter::count_;
}

void finish_offload(uint8_t* data, const OffloadSite& site) noexcept {
  store_be16(data + site.check, pseudo_sum(data, site.l4_len, site.upper));
}

}  // namespace npt66
