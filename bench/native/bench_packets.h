// Packets and prefix tables for the micro-benchmarks: a UDP datagram of a given total size and an ICMPv6
// error carrying one, with valid checksums, plus helpers to build N non-overlapping prefix pairs.
#pragma once
#include <arpa/inet.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "checksum.h"
#include "ipv6.h"
#include "prefix_map.h"

namespace npt66::bench {

inline Address parse_address(const char* s) {
  Address a;
  if (inet_pton(AF_INET6, s, a.b.data()) != 1) throw std::invalid_argument(s);
  return a;
}

inline Prefix parse_prefix(const char* s, uint8_t len) { return Prefix{parse_address(s), len}; }

inline void put_ipv6_header(uint8_t* p, size_t payload_len, uint8_t next, const Address& src, const Address& dst) {
  p[0] = 0x60;
  p[1] = p[2] = p[3] = 0;
  p[4] = static_cast<uint8_t>(payload_len >> 8);
  p[5] = static_cast<uint8_t>(payload_len);
  p[6] = next;
  p[7] = 64;
  src.store(p + ip6::kSrcOffset);
  dst.store(p + ip6::kDstOffset);
}

// IPv6 + UDP, `total` bytes in all (>= 48), payload filled with a pattern, checksum valid.
inline std::vector<uint8_t> udp_packet(size_t total, const Address& src, const Address& dst) {
  std::vector<uint8_t> p(total);
  const size_t l4_len = total - ip6::kHeaderLen;
  put_ipv6_header(p.data(), l4_len, ip6::kUdp, src, dst);
  uint8_t* u = p.data() + ip6::kHeaderLen;
  u[0] = 0x9c; u[1] = 0x40;  // source port 40000
  u[2] = 0x13; u[3] = 0x89;  // destination port 5001
  u[4] = static_cast<uint8_t>(l4_len >> 8);
  u[5] = static_cast<uint8_t>(l4_len);
  for (size_t i = 8; i < l4_len; ++i) u[i] = static_cast<uint8_t>(i * 7);
  uint16_t c = csum::upper_layer(src, dst, ip6::kUdp, u, l4_len);
  u[6] = static_cast<uint8_t>(c >> 8);
  u[7] = static_cast<uint8_t>(c);
  return p;
}

// ICMPv6 Time Exceeded (RFC 4443 s3.3) from `router` to `to`, quoting `quoted`, cut to `total` bytes.
inline std::vector<uint8_t> icmp_error_packet(size_t total, const Address& router, const Address& to,
                                              const std::vector<uint8_t>& quoted) {
  std::vector<uint8_t> p(total);
  const size_t l4_len = total - ip6::kHeaderLen;
  put_ipv6_header(p.data(), l4_len, ip6::kIcmpv6, router, to);
  uint8_t* icmp = p.data() + ip6::kHeaderLen;
  icmp[0] = icmp6::kTimeExceeded;
  const size_t inner = std::min(quoted.size(), l4_len - icmp6::kHeaderLen);
  std::copy_n(quoted.begin(), inner, icmp + icmp6::kHeaderLen);
  uint16_t c = csum::upper_layer(router, to, ip6::kIcmpv6, icmp, l4_len);
  icmp[2] = static_cast<uint8_t>(c >> 8);
  icmp[3] = static_cast<uint8_t>(c);
  return p;
}

// n prefix pairs fd00:<i>::/48 <-> 2001:db8:<i>::/48 (i = 1..n), compiled.
inline std::shared_ptr<const PrefixTable> table_of(size_t n) {
  std::vector<PrefixPair> pairs;
  for (size_t i = 1; i <= n; ++i) {
    PrefixPair pp;
    pp.inside.addr = parse_address("fd00::");
    pp.inside.addr.set_word(1, static_cast<uint16_t>(i));
    pp.inside.len = 48;
    pp.outside.addr = parse_address("2001:db8::");
    pp.outside.addr.set_word(2, static_cast<uint16_t>(i));
    pp.outside.len = 48;
    pairs.push_back(pp);
  }
  std::string error;
  auto t = PrefixTable::compile(pairs, error);
  if (!t) throw std::runtime_error(error);
  return t;
}

inline std::shared_ptr<const PrefixTable> table_of(const PrefixPair& pair) {
  std::string error;
  auto t = PrefixTable::compile({pair}, error);
  if (!t) throw std::runtime_error(error);
  return t;
}

}  // namespace npt66::bench
