// Test helpers: craft IPv6 packets byte by byte (fixed header, extension headers, TCP/UDP/ICMPv6, ICMPv6 errors
// embedding another packet) with valid checksums. Header-only and independent of the core's checksum code, so a
// test can compare the core against it. Throws std::invalid_argument on bad input (no gtest dependency).
#pragma once
#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ipv6.h"
#include "prefix_map.h"

namespace npt66::test {

using Bytes = std::vector<uint8_t>;

inline Address addr(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET6, text.c_str(), a.b.data()) != 1) throw std::invalid_argument("bad IPv6 address: " + text);
  return a;
}

inline Prefix prefix(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) throw std::invalid_argument("prefix without /len: " + text);
  Prefix p;
  p.addr = addr(text.substr(0, slash));
  p.len = static_cast<uint8_t>(std::stoi(text.substr(slash + 1)));
  return p;
}

inline std::string str(const Address& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

// Compiles a table from "inside/len" -> "outside/len" pairs; throws with the compiler's message on error.
inline std::shared_ptr<const PrefixTable> table(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<PrefixPair> v;
  for (const auto& [in, out] : pairs) v.push_back({prefix(in), prefix(out)});
  std::string error;
  auto t = PrefixTable::compile(v, error);
  if (!t) throw std::invalid_argument("table did not compile: " + error);
  return t;
}

// --- one's-complement reference (RFC 1071), written plainly with a wide accumulator ---

// Unfolded 32-bit sum of big-endian 16-bit words; an odd tail byte is the high half of a word.
inline uint32_t ref_sum(const uint8_t* p, size_t len, uint32_t acc = 0) {
  for (size_t i = 0; i < len; ++i) acc += (i % 2 == 0) ? uint32_t{p[i]} << 8 : p[i];
  return acc;
}
inline uint16_t ref_fold(uint32_t acc) {
  while (acc > 0xFFFF) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<uint16_t>(acc);
}
// The one's-complement sum of an address, as a number mod 0xFFFF (0 and 0xFFFF are the same value).
inline uint32_t ref_address_sum_mod(const Address& a) { return ref_sum(a.b.data(), 16) % 0xFFFF; }

// Folded sum over the pseudo-header (RFC 8200 s8.1) and the upper-layer bytes as they are (checksum included).
inline uint16_t ref_pseudo_sum(const Address& src, const Address& dst, uint8_t proto, const uint8_t* l4, size_t len) {
  uint32_t acc = ref_sum(src.b.data(), 16);
  acc = ref_sum(dst.b.data(), 16, acc);
  acc += static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xFFFF) + proto;
  return ref_fold(ref_sum(l4, len, acc));
}

// --- extension headers ---

struct Ext {
  uint8_t type;  // the Next Header value that announces this header
  Bytes bytes;   // complete header; bytes[0] (its own Next Header) is filled in by build_ipv6
};

// Hop-by-hop or destination options padded with PadN to `len` bytes (a multiple of 8, at least 8).
inline Ext options_header(uint8_t type, size_t len = 8) {
  if (len < 8 || len % 8 != 0 || len > 2048) throw std::invalid_argument("options header length");
  Bytes b(len, 0);
  b[1] = static_cast<uint8_t>(len / 8 - 1);
  b[2] = 1;  // PadN
  b[3] = static_cast<uint8_t>(len - 4);
  return {type, b};
}
inline Ext hop_by_hop(size_t len = 8) { return options_header(ip6::kHopByHop, len); }
inline Ext dest_opts(size_t len = 8) { return options_header(ip6::kDestOpts, len); }

// Routing header (RFC 8200 s4.4) of type 253 (experimental) carrying `addresses`; segments left 0, so the
// fixed header's destination is the final one and upper-layer checksums use it.
inline Ext routing(const std::vector<Address>& addresses = {}) {
  Bytes b(8, 0);
  b[1] = static_cast<uint8_t>(addresses.size() * 2);
  b[2] = 253;
  for (const Address& a : addresses) b.insert(b.end(), a.b.begin(), a.b.end());
  return {ip6::kRouting, b};
}

// Fragment header (RFC 8200 s4.5): offset in 8-octet units.
inline Ext fragment(uint16_t offset_units, bool more, uint32_t id = 0x12345678) {
  Bytes b(8, 0);
  uint16_t v = static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0));
  b[2] = static_cast<uint8_t>(v >> 8);
  b[3] = static_cast<uint8_t>(v);
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(id >> (24 - 8 * i));
  return {ip6::kFragment, b};
}

// Authentication header (RFC 4302 s2): 12 fixed bytes plus `icv_len` bytes of ICV (total a multiple of 8).
inline Ext auth_header(size_t icv_len = 12) {
  size_t len = 12 + icv_len;
  if (len % 8 != 0) throw std::invalid_argument("AH length must be a multiple of 8 in IPv6");
  Bytes b(len, 0);
  b[1] = static_cast<uint8_t>(len / 4 - 2);
  b[4] = 0x00, b[5] = 0x00, b[6] = 0x10, b[7] = 0x01;  // SPI
  return {ip6::kAh, b};
}

// --- upper layers ---

struct L4 {
  uint8_t proto;
  Bytes bytes;
  int checksum_at = -1;  // offset of the 16-bit checksum field, -1 if this protocol has none we fill
};

inline L4 tcp(uint16_t sport, uint16_t dport, const Bytes& payload = {}, uint8_t flags = 0x18) {
  Bytes b(20, 0);
  b[0] = static_cast<uint8_t>(sport >> 8), b[1] = static_cast<uint8_t>(sport);
  b[2] = static_cast<uint8_t>(dport >> 8), b[3] = static_cast<uint8_t>(dport);
  b[4] = 0x01, b[5] = 0x02, b[6] = 0x03, b[7] = 0x04;  // sequence
  b[12] = 5 << 4;                                      // data offset: 5 words
  b[13] = flags;
  b[14] = 0xFF, b[15] = 0xFF;  // window
  b.insert(b.end(), payload.begin(), payload.end());
  return {ip6::kTcp, b, 16};
}

inline L4 udp(uint16_t sport, uint16_t dport, const Bytes& payload = {}) {
  Bytes b(8, 0);
  size_t len = 8 + payload.size();
  b[0] = static_cast<uint8_t>(sport >> 8), b[1] = static_cast<uint8_t>(sport);
  b[2] = static_cast<uint8_t>(dport >> 8), b[3] = static_cast<uint8_t>(dport);
  b[4] = static_cast<uint8_t>(len >> 8), b[5] = static_cast<uint8_t>(len);
  b.insert(b.end(), payload.begin(), payload.end());
  return {ip6::kUdp, b, 6};
}

// ICMPv6 message (RFC 4443 s2.1): type, code, checksum, 32 bits of type-specific data, then `body`.
inline L4 icmp6(uint8_t type, uint8_t code, uint32_t rest = 0, const Bytes& body = {}) {
  Bytes b(8, 0);
  b[0] = type, b[1] = code;
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<uint8_t>(rest >> (24 - 8 * i));
  b.insert(b.end(), body.begin(), body.end());
  return {ip6::kIcmpv6, b, 2};
}

inline L4 echo_request(uint16_t id, uint16_t seq, const Bytes& data = {'p', 'i', 'n', 'g'}) {
  return icmp6(icmp6::kEchoRequest, 0, uint32_t{id} << 16 | seq, data);
}

// An ICMPv6 error (types 1-4) quoting `embedded`, cut to at most `max_quote` bytes (RFC 4443 s2.4(c)).
inline L4 icmp6_error(uint8_t type, uint8_t code, uint32_t param, const Bytes& embedded, size_t max_quote = 1232) {
  Bytes quoted(embedded.begin(), embedded.begin() + static_cast<std::ptrdiff_t>(std::min(max_quote, embedded.size())));
  return icmp6(type, code, param, quoted);
}

// Opaque payload under any protocol number (no checksum filled).
inline L4 opaque(uint8_t proto, const Bytes& bytes = Bytes(8, 0xAB)) { return {proto, bytes, -1}; }

// --- the whole packet ---

struct Packet {
  Bytes bytes;
  size_t l4 = 0;  // offset of the upper-layer header
  uint8_t proto = 0;
  int checksum_at = -1;  // absolute offset of the upper-layer checksum, -1 if none
};

// IPv6 header + extension headers in order + upper layer; payload length and every Next Header filled in, and
// the TCP/UDP/ICMPv6 checksum computed with the reference sum (unless `fill_checksum` is false, or the chain
// holds a non-first fragment, which carries no upper-layer header).
inline Packet build_ipv6(const Address& src, const Address& dst, const std::vector<Ext>& exts, const L4& l4,
                         bool fill_checksum = true, uint8_t hop_limit = 64) {
  Packet p;
  p.bytes.assign(40, 0);
  p.bytes[0] = 0x60;
  p.bytes[1] = 0x01, p.bytes[2] = 0x23, p.bytes[3] = 0x45;  // a flow label, to see it survives untouched
  p.bytes[7] = hop_limit;
  src.store(p.bytes.data() + 8);
  dst.store(p.bytes.data() + 24);
  size_t next_at = 6;
  bool later_fragment = false;
  for (const Ext& e : exts) {
    p.bytes[next_at] = e.type;
    next_at = p.bytes.size();
    if (e.type == ip6::kFragment && ((e.bytes[2] << 8 | e.bytes[3]) & 0xFFF8) != 0) later_fragment = true;
    p.bytes.insert(p.bytes.end(), e.bytes.begin(), e.bytes.end());
  }
  p.bytes[next_at] = l4.proto;
  p.l4 = p.bytes.size();
  p.proto = l4.proto;
  p.bytes.insert(p.bytes.end(), l4.bytes.begin(), l4.bytes.end());
  size_t payload = p.bytes.size() - 40;
  if (payload > 0xFFFF) throw std::invalid_argument("payload longer than 65535");
  p.bytes[4] = static_cast<uint8_t>(payload >> 8);
  p.bytes[5] = static_cast<uint8_t>(payload);
  if (l4.checksum_at >= 0 && fill_checksum && !later_fragment) {
    p.checksum_at = static_cast<int>(p.l4) + l4.checksum_at;
    uint8_t* c = p.bytes.data() + p.checksum_at;
    c[0] = c[1] = 0;
    uint16_t v = static_cast<uint16_t>(~ref_pseudo_sum(src, dst, l4.proto, p.bytes.data() + p.l4, p.bytes.size() - p.l4));
    if (v == 0 && l4.proto == ip6::kUdp) v = 0xFFFF;  // RFC 8200 s8.1: UDP never carries 0
    c[0] = static_cast<uint8_t>(v >> 8);
    c[1] = static_cast<uint8_t>(v);
  }
  return p;
}

inline Packet build_ipv6(const Address& src, const Address& dst, const L4& l4) { return build_ipv6(src, dst, {}, l4); }

// True if the upper-layer checksum of `bytes` (upper layer at `l4`, protocol `proto`) verifies against the
// addresses currently in the fixed header.
inline bool l4_checksum_ok(const Bytes& bytes, size_t l4, uint8_t proto) {
  Address src = Address::from(bytes.data() + 8), dst = Address::from(bytes.data() + 24);
  return ref_pseudo_sum(src, dst, proto, bytes.data() + l4, bytes.size() - l4) == 0xFFFF;
}
inline bool l4_checksum_ok(const Packet& p) { return l4_checksum_ok(p.bytes, p.l4, p.proto); }

inline uint16_t read16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

}  // namespace npt66::test
