// IPv6 wire constants and a 16-byte address value type. Pure C++, no system headers beyond the standard.
#pragma once
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace npt66 {

// Big-endian (network order) loads and stores at any alignment: one move and one byte swap each.
inline uint64_t load_be64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
inline void store_be64(uint8_t* p, uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t load_be16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

struct Address {
  std::array<uint8_t, 16> b{};

  // 16-bit word i (0..7), host order.
  uint16_t word(int i) const noexcept { return static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]); }
  void set_word(int i, uint16_t w) noexcept {
    b[2 * i] = static_cast<uint8_t>(w >> 8);
    b[2 * i + 1] = static_cast<uint8_t>(w);
  }
  uint64_t high64() const noexcept { return load_be64(b.data()); }
  uint64_t low64() const noexcept { return load_be64(b.data() + 8); }
  static Address from(const uint8_t* p) noexcept {
    Address a;
    std::memcpy(a.b.data(), p, 16);
    return a;
  }
  void store(uint8_t* p) const noexcept { std::memcpy(p, b.data(), 16); }
  // Two 64-bit compares: the defaulted == on std::array calls memcmp, which dominates a masquerade lookup's
  // key check and remote-address filtering.
  friend bool operator==(const Address& x, const Address& y) noexcept {
    uint64_t x0, x1, y0, y1;
    std::memcpy(&x0, x.b.data(), 8);
    std::memcpy(&x1, x.b.data() + 8, 8);
    std::memcpy(&y0, y.b.data(), 8);
    std::memcpy(&y1, y.b.data() + 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
};

// Mask of the first `len` bits of a 64-bit prefix (len 0..64).
constexpr uint64_t prefix_mask64(unsigned len) noexcept {
  return len == 0 ? 0 : (len >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - len));
}

namespace ip6 {
inline constexpr size_t kHeaderLen = 40;
inline constexpr size_t kSrcOffset = 8;
inline constexpr size_t kDstOffset = 24;
inline constexpr size_t kMinMtu = 1280;  // RFC 8200 s5

// Next-header values (IANA).
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kRouting = 43;
inline constexpr uint8_t kFragment = 44;
inline constexpr uint8_t kEsp = 50;
inline constexpr uint8_t kAh = 51;
inline constexpr uint8_t kIcmpv6 = 58;
inline constexpr uint8_t kNoNext = 59;
inline constexpr uint8_t kDestOpts = 60;
inline constexpr uint8_t kMobility = 135;
inline constexpr uint8_t kHip = 139;
inline constexpr uint8_t kShim6 = 140;
}  // namespace ip6

namespace icmp6 {
// RFC 4443 error types (< 128) and the informational types npt66 cares about.
inline constexpr uint8_t kDestUnreachable = 1;
inline constexpr uint8_t kPacketTooBig = 2;
inline constexpr uint8_t kTimeExceeded = 3;
inline constexpr uint8_t kParamProblem = 4;
inline constexpr uint8_t kEchoRequest = 128;
inline constexpr uint8_t kEchoReply = 129;
inline constexpr size_t kHeaderLen = 8;  // type, code, checksum, 4 bytes of type-specific data
inline bool is_error(uint8_t type) noexcept { return type >= 1 && type <= 4; }
// Neighbor Discovery (RFC 4861) and MLD (RFC 2710/3810) are link-local control: never translated.
inline bool is_nd_or_mld(uint8_t type) noexcept { return (type >= 130 && type <= 137) || type == 143; }
// ND and MLD belong on their link: RFC 4861 s6.1/s7.1 (hop limit 255, a link-local or unspecified source, a
// link-local or multicast destination) and RFC 3810 s5 (MLD from a link-local source). One with a routable source
// and a routable unicast destination is not link business; forwarded untranslated it would carry its source off
// the link. Bytes 0-1 of each address decide: fe80::/10 link-local, ff00::/8 multicast, :: unspecified.
inline bool is_link_scoped(const Address& src, const Address& dst) noexcept {
  auto link_local = [](const Address& a) { return a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80; };
  return link_local(src) || (src.high64() == 0 && src.low64() == 0) || link_local(dst) || dst.b[0] == 0xff;
}
}  // namespace icmp6

}  // namespace npt66
