#include "checksum.h"

#include <bit>
#include <cstring>

namespace npt66::csum {

uint16_t sum_bytes(const uint8_t* p, size_t len, uint16_t initial) noexcept {
  // RFC 1071 s2(B): the sum is byte-order independent, so add native 32-bit words into a 64-bit accumulator
  // (no carry is lost below 2^32 words) and swap the folded result once. A 64 KB GSO super-packet's checksum
  // then costs ~16 K additions instead of 32 K byte-pair loads.
  uint64_t s = 0;
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    s += w;
  }
  uint8_t tail[4] = {0, 0, 0, 0};
  if (i < len) {
    std::memcpy(tail, p + i, len - i);
    uint32_t w;
    std::memcpy(&w, tail, 4);
    s += w;
  }
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  uint16_t folded = static_cast<uint16_t>(s);
  if constexpr (std::endian::native == std::endian::little) folded = __builtin_bswap16(folded);
  return add(folded, initial);
}

uint16_t sum_address(const Address& a) noexcept { return sum_bytes(a.b.data(), 16); }

uint16_t upper_layer(const Address& src, const Address& dst, uint8_t next_header, const uint8_t* l4,
                     size_t len) noexcept {
  uint16_t s = add(sum_address(src), sum_address(dst));
  s = add(s, static_cast<uint16_t>(len >> 16));
  s = add(s, static_cast<uint16_t>(len & 0xFFFF));
  s = add(s, next_header);
  s = sum_bytes(l4, len, s);
  return static_cast<uint16_t>(~s);
}

}  // namespace npt66::csum
