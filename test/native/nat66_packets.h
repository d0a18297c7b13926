// Helpers for the NAT66 masquerade tests: the seed's addresses, a table factory, and checks that recompute
// checksums in full and independently of the incremental code under test.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "checksum.h"
#include "nat66_table.h"
#include "packet_builder.h"

namespace npt66::test {

// The seed story: containers in fd5a:ceb9:ed8d:1::/64 masqueraded to the Docker host's address.
inline const Address kOutside = addr("fd5a:ceb9:ed8d:fe0a:ed57:61d8:20eb:aba5");
inline const Address kContainer = addr("fd5a:ceb9:ed8d:1::2");
inline const Address kContainer2 = addr("fd5a:ceb9:ed8d:1::3");
inline const Address kRemote = addr("2001:4860:4860::8888");
inline const Address kRemote2 = addr("2001:4860:4860::8844");
inline const Address kRouter = addr("2001:db8:ffff::1");

inline Nat66Config base_config() {
  Nat66Config c;
  c.inside = {prefix("fd5a:ceb9:ed8d:1::/64")};
  c.outside = {kOutside};
  c.keep_privileged_ports = true;  // the tests exercise nf_nat's rule (ports below 1024 stay below 1024)
  c.seed = 42;
  return c;
}

inline std::unique_ptr<Nat66Table> make_table(const Nat66Config& c) {
  std::string error;
  auto t = Nat66Table::create(c, error);
  EXPECT_TRUE(t) << error;
  return t;
}

// An outbound flow that must get its mapping.
inline Nat66Binding create_ok(Nat66Table& t, const Nat66Flow& f, uint64_t now, CounterBlock& c) {
  Nat66Binding b;
  EXPECT_EQ(t.outbound(f, now, b, c), Counter::count_);
  return b;
}

inline Nat66Flow udp_flow(const Address& src, uint16_t sport, const Address& dst, uint16_t dport) {
  Nat66Flow f;
  f.proto = Nat66Proto::udp;
  f.src = src, f.dst = dst, f.sport = sport, f.dport = dport, f.bytes = 100;
  return f;
}
inline Nat66Flow tcp_flow(const Address& src, uint16_t sport, const Address& dst, uint16_t dport, uint8_t flags) {
  Nat66Flow f = udp_flow(src, sport, dst, dport);
  f.proto = Nat66Proto::tcp;
  f.tcp_flags = flags;
  return f;
}
inline Nat66Flow icmp_flow(const Address& src, uint16_t id, const Address& dst) {
  Nat66Flow f = udp_flow(src, id, dst, id);
  f.proto = Nat66Proto::icmp;
  return f;
}
// The reply direction of an outbound flow, as it arrives at the outside address.
inline Nat66Flow reply_to(const Nat66Flow& out, const Nat66Binding& b, uint8_t flags = 0) {
  Nat66Flow f = out;
  f.src = out.dst, f.sport = out.dport, f.dst = b.outside, f.dport = b.outside_port, f.tcp_flags = flags;
  if (out.proto == Nat66Proto::icmp) f.sport = b.outside_port;
  return f;
}

// The upper-layer checksum `p` should carry, recomputed in full with csum::upper_layer over its current
// addresses and bytes (RFC 8200 s8.1; UDP writes a computed 0 as 0xFFFF).
inline uint16_t full_checksum(const Packet& p) {
  Bytes copy = p.bytes;
  copy[p.checksum_at] = copy[p.checksum_at + 1] = 0;
  uint16_t v = csum::upper_layer(Address::from(copy.data() + 8), Address::from(copy.data() + 24), p.proto,
                                 copy.data() + p.l4, copy.size() - p.l4);
  if (v == 0 && p.proto == ip6::kUdp) v = 0xFFFF;
  return v;
}

inline uint16_t port_at(const Packet& p, size_t off) { return read16(p.bytes, p.l4 + off); }

}  // namespace npt66::test
