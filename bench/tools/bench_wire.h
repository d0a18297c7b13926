// What the benchmark generator puts on the wire and the sink reads back: Ethernet + IPv6 + UDP frames whose
// 16-byte payload head carries a trial id, a sequence number and the send time (CLOCK_MONOTONIC, ns).
// "Packet size" everywhere in the benchmarks is the IPv6 packet length (header included), as in the
// micro-benchmarks; the Ethernet frame is 14 bytes longer.
#pragma once
#include <time.h>

#include <cstdint>
#include <cstring>

namespace npt66::bench {

inline constexpr size_t kEthLen = 14;
inline constexpr size_t kIpv6Len = 40;
inline constexpr size_t kUdpLen = 8;
inline constexpr size_t kStampLen = 16;
inline constexpr size_t kMinPacket = kIpv6Len + kUdpLen + kStampLen;  // 64
inline constexpr uint16_t kMagic = 0x6E62;                            // "nb"

// Payload head, big-endian on the wire: magic(2) trial(2) seq(4) tx_ns(8).
struct Stamp {
  uint16_t trial;
  uint32_t seq;
  uint64_t tx_ns;
};

inline uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void put32(uint8_t* p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }
inline void put64(uint8_t* p, uint64_t v) { put32(p, uint32_t(v >> 32)); put32(p + 4, uint32_t(v)); }
inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }
inline uint64_t get64(const uint8_t* p) { return uint64_t(get32(p)) << 32 | get32(p + 4); }

inline void write_stamp(uint8_t* p, const Stamp& s) {
  put16(p, kMagic);
  put16(p + 2, s.trial);
  put32(p + 4, s.seq);
  put64(p + 8, s.tx_ns);
}

inline bool read_stamp(const uint8_t* p, Stamp& s) {
  if (get16(p) != kMagic) return false;
  s.trial = get16(p + 2);
  s.seq = get32(p + 4);
  s.tx_ns = get64(p + 8);
  return true;
}

}  // namespace npt66::bench
