#include "packet_view.h"

namespace npt66 {
namespace {

constexpr int kMaxExtHeaders = 8;  // a longer chain is refused (counters.def: drop_bad_ext_header)

// Walks the extension-header chain from offset 40. `complete` means the payload is whole, so a chain that
// runs past the end is malformed; for an embedded (truncated) packet it just ends what we can see.
bool walk(PacketView& v, bool complete, Counter& why) noexcept {
  uint8_t next = v.data[6];
  size_t off = ip6::kHeaderLen;
  for (int n = 0;; ++n) {
    size_t hlen;
    switch (next) {
      case ip6::kHopByHop:
        if (off != ip6::kHeaderLen) {  // RFC 8200 s4.1: only immediately after the IPv6 header
          why = Counter::drop_bad_ext_header;
          return false;
        }
        [[fallthrough]];
      case ip6::kRouting:
        v.routing |= next == ip6::kRouting;
        [[fallthrough]];
      case ip6::kDestOpts:
      case ip6::kMobility:
      case ip6::kHip:
      case ip6::kShim6:
        if (off + 2 > v.len) goto short_chain;
        hlen = (size_t{v.data[off + 1]} + 1) * 8;
        break;
      case ip6::kAh:  // RFC 4302 s2.2: length in 4-octet units, minus 2
        if (off + 2 > v.len) goto short_chain;
        hlen = (size_t{v.data[off + 1]} + 2) * 4;
        break;
      case ip6::kFragment: {
        if (off + 8 > v.len) goto short_chain;
        v.fragment = true;
        uint16_t offset = static_cast<uint16_t>((v.data[off + 2] << 8 | v.data[off + 3]) & 0xFFF8);
        if (offset != 0) {  // a later fragment: no upper-layer header here
          v.upper = v.data[off];
          v.has_l4 = false;
          return true;
        }
        hlen = 8;
        break;
      }
      default:  // upper layer, ESP, "no next header", or a protocol we do not know: opaque from here
        v.upper = next;
        v.l4 = off;
        v.has_l4 = next != ip6::kNoNext && next != ip6::kEsp;
        if (v.has_l4 && next == ip6::kIcmpv6) {
          if (off + 4 > v.len) {
            if (complete) {
              why = Counter::drop_truncated;
              return false;
            }
            v.has_l4 = false;
            return true;
          }
          v.icmp_type = v.data[off];
          v.icmp_code = v.data[off + 1];
        }
        return true;
    }
    if (n + 1 > kMaxExtHeaders) {  // header n is the (n+1)-th: the 9th one is too many
      why = Counter::drop_bad_ext_header;
      return false;
    }
    if (off + hlen > v.len) goto short_chain;
    next = v.data[off];
    off += hlen;
    continue;
  short_chain:
    if (complete) {
      why = Counter::drop_bad_ext_header;
      return false;
    }
    v.upper = next;
    v.has_l4 = false;
    return true;
  }
}

bool parse_common(uint8_t* data, size_t len, PacketView& out, Counter& why) noexcept {
  out = PacketView{};
  if (data == nullptr || len < ip6::kHeaderLen) {
    why = Counter::drop_truncated;
    return false;
  }
  if ((data[0] >> 4) != 6) {
    why = Counter::drop_not_ipv6;
    return false;
  }
  out.data = data;
  out.len = len;
  return true;
}

}  // namespace

bool parse_packet(uint8_t* data, size_t len, PacketView& out, Counter& why) noexcept {
  if (!parse_common(data, len, out, why)) return false;
  size_t payload = size_t{data[4]} << 8 | data[5];
  if (payload == 0) {  // RFC 2675 jumbogram (or an empty packet claiming to be one)
    why = Counter::drop_jumbogram;
    return false;
  }
  if (ip6::kHeaderLen + payload > len) {
    why = Counter::drop_truncated;
    return false;
  }
  out.len = ip6::kHeaderLen + payload;
  return walk(out, true, why);
}

bool parse_embedded(uint8_t* data, size_t len, PacketView& out, Counter& why) noexcept {
  if (!parse_common(data, len, out, why)) {
    if (why == Counter::drop_truncated) why = Counter::drop_icmp_inner_truncated;
    return false;
  }
  size_t payload = size_t{data[4]} << 8 | data[5];
  if (ip6::kHeaderLen + payload < len) out.len = ip6::kHeaderLen + payload;
  return walk(out, false, why);
}

}  // namespace npt66
