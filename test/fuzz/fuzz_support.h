// Shared by the libFuzzer targets (test/fuzz/*_fuzz.cc) and the seed writer: the invariant check that aborts,
// a front-to-back reader of the fuzz input (the seed writer lays seeds out in the same order), and the
// checksum test the invariants use.
#pragma once
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "checksum.h"
#include "ipv6.h"
#include "packet_view.h"

namespace npt66::fuzz {

// An invariant violation is a finding: say which one and abort, so libFuzzer saves the input.
#define NPT66_FUZZ_CHECK(cond, what)                                                           \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "npt66 fuzz invariant violated at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                   what, #cond);                                                                \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

using Bytes = std::vector<uint8_t>;

// Consumes the input from the front; past the end it reads zeros (a short input is still a valid one).
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
  uint32_t u32() { return uint32_t{u16()} << 16 | u16(); }
  Address address() {
    Address a;
    for (auto& b : a.b) b = u8();
    return a;
  }
  // Up to `n` bytes (fewer at the end of the input).
  Bytes take(size_t n) {
    n = n < left() ? n : left();
    Bytes b(p_, p_ + n);
    p_ += n;
    return b;
  }
  Bytes rest() { return take(left()); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The seed writer's side of Reader.
struct Writer {
  Bytes out;
  Writer& u8(uint8_t v) { out.push_back(v); return *this; }
  Writer& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  Writer& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
  Writer& address(const Address& a) { out.insert(out.end(), a.b.begin(), a.b.end()); return *this; }
  Writer& bytes(const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); return *this; }
};

inline Address parse_address(const char* text) {
  Address a;
  if (inet_pton(AF_INET6, text, a.b.data()) != 1) std::abort();
  return a;
}

// The one's-complement value of a byte range as a number mod 0xFFFF (0x0000 and 0xFFFF are both zero).
inline uint32_t sum_mod(const uint8_t* p, size_t len) {
  uint32_t acc = 0;
  for (size_t i = 0; i < len; ++i) acc += (i % 2 == 0) ? uint32_t{p[i]} << 8 : p[i];
  return acc % 0xFFFF;
}

// Where a complete packet's TCP/UDP/ICMPv6 checksum lives; false for anything else (no upper layer, a fragment
// whose checksum covers bytes not here, a header cut before the field).
struct L4Checksum {
  size_t l4 = 0, len = 0, field = 0;
  uint8_t proto = 0;
};
inline bool find_l4_checksum(const uint8_t* data, size_t len, L4Checksum& out) {
  PacketView v;
  Counter why;
  if (!parse_packet(const_cast<uint8_t*>(data), len, v, why) || !v.has_l4 || v.fragment) return false;
  size_t at;
  if (v.upper == ip6::kTcp) at = 16;
  else if (v.upper == ip6::kUdp) at = 6;
  else if (v.upper == ip6::kIcmpv6) at = 2;
  else return false;
  if (v.l4_len() < at + 2) return false;
  out = {v.l4, v.l4_len(), v.l4 + at, v.upper};
  return true;
}

// True if the upper-layer checksum verifies (RFC 8200 s8.1), recomputed in full with csum::upper_layer. A UDP
// checksum of zero is not valid in IPv6. 0x0000 and 0xFFFF are the same value for TCP and ICMPv6.
inline bool l4_checksum_valid(const uint8_t* data, const L4Checksum& c) {
  Bytes copy(data + c.l4, data + c.l4 + c.len);
  const uint16_t stored = static_cast<uint16_t>(copy[c.field - c.l4] << 8 | copy[c.field - c.l4 + 1]);
  if (c.proto == ip6::kUdp && stored == 0) return false;
  copy[c.field - c.l4] = copy[c.field - c.l4 + 1] = 0;
  const uint16_t want = csum::upper_layer(Address::from(data + ip6::kSrcOffset), Address::from(data + ip6::kDstOffset),
                                          c.proto, copy.data(), copy.size());
  return stored % 0xFFFF == want % 0xFFFF;
}

// Writes a correct checksum into the packet (the fuzzer rarely guesses one; a valid input exercises more).
inline void fix_l4_checksum(uint8_t* data, const L4Checksum& c) {
  data[c.field] = data[c.field + 1] = 0;
  uint16_t v = csum::upper_layer(Address::from(data + ip6::kSrcOffset), Address::from(data + ip6::kDstOffset),
                                 c.proto, data + c.l4, c.len);
  if (v == 0 && c.proto == ip6::kUdp) v = 0xFFFF;
  data[c.field] = static_cast<uint8_t>(v >> 8);
  data[c.field + 1] = static_cast<uint8_t>(v);
}

}  // namespace npt66::fuzz
