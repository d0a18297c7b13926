#include "checksum.h"

namespace npt66::csum {

uint16_t sum_bytes(const uint8_t* p, size_t len, uint16_t initial) noexcept {
  uint64_t s = initial;
  size_t i = 0;
  for (; i + 1 < len; i += 2) s += uint32_t{p[i]} << 8 | p[i + 1];
  if (i < len) s += uint32_t{p[i]} << 8;
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<uint16_t>(s);
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
