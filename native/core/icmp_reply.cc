#include "icmp_reply.h"

#include <algorithm>
#include <cstring>

#include "checksum.h"

namespace npt66 {

size_t build_icmp_error(uint8_t type, uint8_t code, uint32_t param, const Address& from, const uint8_t* offending,
                        size_t offending_len, uint8_t* out, size_t cap) noexcept {
  if (offending == nullptr || offending_len < ip6::kHeaderLen || (offending[0] >> 4) != 6) return 0;
  constexpr size_t kFixed = ip6::kHeaderLen + icmp6::kHeaderLen;
  size_t quoted = std::min(offending_len, ip6::kMinMtu - kFixed);
  size_t total = kFixed + quoted;
  if (cap < total) return 0;
  size_t payload = icmp6::kHeaderLen + quoted;

  std::memset(out, 0, kFixed);
  out[0] = 0x60;
  out[4] = static_cast<uint8_t>(payload >> 8);
  out[5] = static_cast<uint8_t>(payload);
  out[6] = ip6::kIcmpv6;
  out[7] = 64;
  from.store(out + ip6::kSrcOffset);
  std::memcpy(out + ip6::kDstOffset, offending + ip6::kSrcOffset, 16);
  uint8_t* icmp = out + ip6::kHeaderLen;
  icmp[0] = type;
  icmp[1] = code;
  icmp[4] = static_cast<uint8_t>(param >> 24);
  icmp[5] = static_cast<uint8_t>(param >> 16);
  icmp[6] = static_cast<uint8_t>(param >> 8);
  icmp[7] = static_cast<uint8_t>(param);
  std::memcpy(icmp + icmp6::kHeaderLen, offending, quoted);
  uint16_t c = csum::upper_layer(from, Address::from(out + ip6::kDstOffset), ip6::kIcmpv6, icmp, payload);
  icmp[2] = static_cast<uint8_t>(c >> 8);
  icmp[3] = static_cast<uint8_t>(c);
  return total;
}

}  // namespace npt66
