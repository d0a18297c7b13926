// Bounds-checked view of an IPv6 packet: fixed header, extension-header chain, upper layer.
// Parsing never reads outside [data, data+len) and reports malformed input by its drop counter.
#pragma once
#include <cstddef>
#include <cstdint>

#include "counters.h"
#include "ipv6.h"

namespace npt66 {

struct PacketView {
  uint8_t* data = nullptr;
  size_t len = 0;              // 40 + payload length (bytes past that, if any, are ignored)
  uint8_t upper = ip6::kNoNext;  // upper-layer protocol after the extension headers
  size_t l4 = 0;               // offset of the upper-layer header; valid only when has_l4
  bool has_l4 = false;         // false for non-first fragments, ESP and "no next header"
  bool fragment = false;       // a Fragment header is present
  bool routing = false;        // a Routing header is present (the pseudo-header then uses its final destination)
  uint8_t icmp_type = 0;       // valid when upper == 58 and has_l4
  uint8_t icmp_code = 0;

  Address src() const noexcept { return Address::from(data + ip6::kSrcOffset); }
  Address dst() const noexcept { return Address::from(data + ip6::kDstOffset); }
  size_t l4_len() const noexcept { return len - l4; }
  bool is_icmp_error() const noexcept { return has_l4 && upper == ip6::kIcmpv6 && icmp6::is_error(icmp_type); }
};

// A complete packet (as NFQUEUE hands it over). Returns false and sets `why` to a drop counter on malformed
// input: too short, not version 6, payload length beyond the buffer or zero (jumbogram), a broken chain.
bool parse_packet(uint8_t* data, size_t len, PacketView& out, Counter& why) noexcept;

// The packet embedded in an ICMPv6 error (RFC 4443 s2.4(c)): usually cut short, so the payload length is not
// checked against the bytes present. Needs the full 40-byte header; walks the extension headers that fit.
bool parse_embedded(uint8_t* data, size_t len, PacketView& out, Counter& why) noexcept;

}  // namespace npt66
