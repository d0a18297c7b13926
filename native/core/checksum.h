// 16-bit one's-complement arithmetic (RFC 1071) and incremental update (RFC 1624).
#pragma once
#include <cstddef>
#include <cstdint>

#include "ipv6.h"

namespace npt66::csum {

// a + b with end-around carry. Inputs and result in 0..0xFFFF.
constexpr uint16_t add(uint16_t a, uint16_t b) noexcept {
  uint32_t s = uint32_t{a} + b;
  return static_cast<uint16_t>((s & 0xFFFF) + (s >> 16));
}
constexpr uint16_t sub(uint16_t a, uint16_t b) noexcept { return add(a, static_cast<uint16_t>(~b)); }

// Folded (not complemented) one's-complement sum of a byte range, big-endian words; odd tail padded with 0.
uint16_t sum_bytes(const uint8_t* p, size_t len, uint16_t initial = 0) noexcept;

// Folded sum of the eight words of an address.
uint16_t sum_address(const Address& a) noexcept;

// Full upper-layer checksum over the IPv6 pseudo-header (RFC 8200 s8.1) and `len` bytes at `l4`,
// with the checksum field already zeroed by the caller. Returns the value to store (complemented).
uint16_t upper_layer(const Address& src, const Address& dst, uint8_t next_header, const uint8_t* l4, size_t len) noexcept;

// RFC 1624 eqn. 3: new checksum field after a covered 16-bit quantity changed from `old_sum` to `new_sum`
// (both folded one's-complement sums of the changed region).
constexpr uint16_t update(uint16_t check, uint16_t old_sum, uint16_t new_sum) noexcept {
  return static_cast<uint16_t>(~add(add(static_cast<uint16_t>(~check), static_cast<uint16_t>(~old_sum)), new_sum));
}

}  // namespace npt66::csum
