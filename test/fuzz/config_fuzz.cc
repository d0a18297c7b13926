// libFuzzer target: configuration from input bytes. PrefixTable::compile (native/core/prefix_map.h) on 1-4
// NPTv6 pairs, then the masquerade configuration's validation (native/core/nat66_config.h) and, when it is
// accepted, a table built from it (the one target that needs a table per input).
// Input: a flags byte (bits 0-1: pairs - 1, bit 2: tidy the pairs, i.e. lengths 1..64 and no host bits, so that
// most compile), the pairs (inside address, length, outside address, length), a 16-byte probe address; then
// the masquerade part: a flags byte (bits 0-1: inside prefixes - 1, bits 2-3: outside addresses - 1, bit 4:
// tidy, bit 5: endpoint-independent filtering, bit 6: keep privileged ports, bit 7: inbound refresh), the
// prefixes (address, length), the addresses, port_min, port_max, udp timeout, max_mappings, max_per_64, then a
// probe flow (inside host bits, source port, remote address, remote port).
// Invariants:
// - a refused configuration names why; an accepted NPTv6 table has lengths 1..64 and no host bits;
// - accepted NPTv6 pairs round-trip an address of each inside prefix: outbound maps it into the outside prefix
//   checksum-neutrally, inbound maps it back (RFC 6296 s3.2/s3.3);
// - Nat66Table::create accepts exactly what validate() accepts, and a UDP flow from an inside address out and
//   its reply back through the new table round-trip the inside address and port with valid checksums.
#include <algorithm>
#include <string>

#include "fuzz_support.h"
#include "nat66_table.h"
#include "nat66_translate.h"
#include "prefix_map.h"

using namespace npt66;
using namespace npt66::fuzz;

namespace {

// Clears every bit of `a` beyond the first `len`.
Address masked(const Address& a, unsigned len) {
  Address m = a;
  for (unsigned bit = len; bit < 128; ++bit) m.b[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return m;
}

// The address whose first `p.len` bits are p's and the rest `host`'s.
Address in_prefix(const Prefix& p, const Address& host) {
  Address a = host;
  for (unsigned bit = 0; bit < p.len; ++bit) {
    const uint8_t m = static_cast<uint8_t>(0x80u >> (bit % 8));
    a.b[bit / 8] = static_cast<uint8_t>((a.b[bit / 8] & ~m) | (p.addr.b[bit / 8] & m));
  }
  return a;
}

Prefix read_prefix(Reader& in, bool tidy, unsigned max_len) {
  Prefix p;
  p.addr = in.address();
  p.len = in.u8();
  if (tidy) {
    p.len = static_cast<uint8_t>(1 + p.len % max_len);
    p.addr = masked(p.addr, p.len);
  }
  return p;
}

void nptv6(Reader& in) {
  const uint8_t flags = in.u8();
  const bool tidy = flags & 4;
  std::vector<PrefixPair> pairs(1 + (flags & 3));
  for (PrefixPair& p : pairs) {
    p.inside = read_prefix(in, tidy, 64);
    p.outside = read_prefix(in, tidy, 64);
  }
  const Address probe = in.address();
  std::string error;
  const auto table = PrefixTable::compile(pairs, error);
  if (!table) {
    NPT66_FUZZ_CHECK(!error.empty(), "a refused NPTv6 configuration without a reason");
    return;
  }
  NPT66_FUZZ_CHECK(table->mappings().size() == pairs.size(), "a mapping went missing");
  for (const Mapping& m : table->mappings()) {
    for (const Prefix* p : {&m.pair.inside, &m.pair.outside})
      NPT66_FUZZ_CHECK(p->len >= 1 && p->len <= 64 && !has_host_bits(*p), "accepted a bad prefix");
    const Address a = in_prefix(m.pair.inside, probe);
    NPT66_FUZZ_CHECK(table->match(a, Direction::outbound) == &m, "an inside address matched another mapping");
    Address out = a;
    if (map_address(m, Direction::outbound, out) != Counter::count_) continue;  // s3.7 bits, 0xFFFF, anycast
    NPT66_FUZZ_CHECK(in_prefix(m.pair.outside, out) == out, "translated outside the outside prefix");
    NPT66_FUZZ_CHECK(sum_mod(out.b.data(), 16) == sum_mod(a.b.data(), 16), "not checksum-neutral");
    const Mapping* back = table->match(out, Direction::inbound);
    NPT66_FUZZ_CHECK(back == &m, "the translated address matched another mapping inbound");
    Address again = out;
    NPT66_FUZZ_CHECK(map_address(*back, Direction::inbound, again) == Counter::count_, "inbound refused the reply");
    NPT66_FUZZ_CHECK(again == a, "inbound did not restore the address");
  }
}

Bytes udp_packet(const Address& src, uint16_t sport, const Address& dst, uint16_t dport) {
  Bytes p(40 + 8 + 4, 0);
  p[0] = 0x60;
  p[5] = 12;
  p[6] = ip6::kUdp;
  p[7] = 64;
  src.store(p.data() + 8);
  dst.store(p.data() + 24);
  p[40] = static_cast<uint8_t>(sport >> 8), p[41] = static_cast<uint8_t>(sport);
  p[42] = static_cast<uint8_t>(dport >> 8), p[43] = static_cast<uint8_t>(dport);
  p[45] = 12;
  p[48] = 'p', p[49] = 'r', p[50] = 'o', p[51] = 'b';
  L4Checksum c{40, 12, 46, ip6::kUdp};
  fix_l4_checksum(p.data(), c);
  return p;
}

void masquerade(Reader& in) {
  const uint8_t flags = in.u8();
  const bool tidy = flags & 16;
  Nat66Config c;
  c.inside.resize(1 + (flags & 3));
  for (Prefix& p : c.inside) p = read_prefix(in, tidy, 128);
  c.outside.resize(1 + ((flags >> 2) & 3));
  for (Address& a : c.outside) a = in.address();
  c.port_min = in.u16();
  c.port_max = in.u16();
  c.timeouts.udp_ms = in.u32();
  c.max_mappings = in.u32();
  c.max_per_64 = in.u32();
  if (tidy) {
    c.port_min = static_cast<uint16_t>(1024 + c.port_min % 64512);
    c.port_max = static_cast<uint16_t>(c.port_min + c.port_max % (65536 - c.port_min));
    c.timeouts.udp_ms = kNat66MinUdpTimeoutMs + c.timeouts.udp_ms % 1'000'000;
    c.max_mappings = 1 + c.max_mappings % 1024;
    c.max_per_64 = 1 + c.max_per_64 % 64;
  }
  c.filtering = (flags & 32) ? Nat66Filtering::endpoint_independent : Nat66Filtering::address_dependent;
  c.keep_privileged_ports = flags & 64;
  c.inbound_refresh = flags & 128;
  c.event_capacity = 4;
  c.seed = 7;
  const Address host = in.address();
  const uint16_t sport = in.u16();
  const Address remote = in.address();
  const uint16_t dport = in.u16();

  const std::string why = validate(c);
  std::string error;
  const auto t = Nat66Table::create(c, error);
  NPT66_FUZZ_CHECK((t == nullptr) == !why.empty() && error == why, "create() and validate() disagree");
  if (!t) return;

  const Address inside = in_prefix(c.inside[0], host);
  if (t->is_inside(remote) || t->outside_index(remote) >= 0) return;  // not a remote host
  CounterBlock counters;
  const uint64_t now = 1'000'000;
  Bytes out = udp_packet(inside, sport, remote, dport);
  const Verdict v = translate_nat66(*t, Direction::outbound, out.data(), out.size(), now, counters);
  NPT66_FUZZ_CHECK(v.action == Action::translated, "the first flow of a new table was refused");
  const Address mapped = Address::from(out.data() + 8);
  const uint16_t mapped_port = static_cast<uint16_t>(out[40] << 8 | out[41]);
  NPT66_FUZZ_CHECK(mapped == t->outside_for(inside) && t->outside_index(mapped) >= 0, "not the pool address");
  L4Checksum check{40, 12, 46, ip6::kUdp};
  NPT66_FUZZ_CHECK(l4_checksum_valid(out.data(), check), "outbound checksum invalid");

  Bytes reply = udp_packet(remote, dport, mapped, mapped_port);
  const Verdict rv = translate_nat66(*t, Direction::inbound, reply.data(), reply.size(), now + 1, counters);
  NPT66_FUZZ_CHECK(rv.action == Action::translated, "the reply was refused");
  NPT66_FUZZ_CHECK(Address::from(reply.data() + 24) == inside && (reply[42] << 8 | reply[43]) == sport,
                   "the reply did not reach the inside endpoint");
  NPT66_FUZZ_CHECK(l4_checksum_valid(reply.data(), check), "inbound checksum invalid");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  nptv6(in);
  masquerade(in);
  return 0;
}
