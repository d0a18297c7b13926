// libFuzzer target: a sequence of packets through translate_nat66 (NAT66 masquerade) on two small tables
// built once per process (address-dependent and endpoint-independent filtering), with the clock advancing by
// an input-controlled amount and Nat66Table::expire() run before each packet, so mappings are created,
// refreshed, filtered, hairpinned, exhausted, expired and their ports quarantined and reused.
//
// Input: up to kMaxPackets records of
//   flags (bit 0 inbound, bit 1 fill in a valid L4 checksum, bit 2 aim the packet at the table: outbound puts
//   an inside prefix in the source, inbound the outside address in the destination, bit 3 which prefix or
//   address, bit 4 the endpoint-independent table), advance (the clock moves advance^2 * 2 ms: up to 130 s,
//   past the UDP timeout; kept short because expire() walks the timer wheel second by second),
//   length (16 bits), then that many packet bytes.
// Invariants:
// - a packet that is not translated is byte-for-byte the input;
// - a translated outbound packet never carries a source in the table's source prefixes (nothing leaks), and a
//   translated inbound one is delivered to an inside address;
// - if the input's TCP/UDP/ICMPv6 checksum was valid, the output's is (recomputed with csum::upper_layer);
// - the table never holds more than max_mappings mappings.
// The tables keep their state from one input to the next (as in a running gateway).
#include <vector>

#include "fuzz_support.h"
#include "fuzz_tables.h"
#include "nat66_table.h"
#include "nat66_translate.h"

using namespace npt66;
using namespace npt66::fuzz;

namespace {

constexpr size_t kMaxPackets = 32;

struct State {
  std::unique_ptr<Nat66Table> address_dependent = create_or_abort(small_masquerade_config(Nat66Filtering::address_dependent));
  std::unique_ptr<Nat66Table> endpoint_independent =
      create_or_abort(small_masquerade_config(Nat66Filtering::endpoint_independent));
  CounterBlock counters;
  uint64_t now_ms = 1'000'000;
  std::vector<Nat66MappingEvent> events;
};

State& state() {
  static State s;
  return s;
}

void aim(Bytes& p, Direction d, bool second, const Nat66Table& t) {
  if (p.size() < ip6::kHeaderLen) return;
  if (d == Direction::outbound) {
    const Prefix& in = t.config().inside[second ? 1 : 0];
    std::copy(in.addr.b.begin(), in.addr.b.begin() + 8, p.begin() + ip6::kSrcOffset);
  } else {
    t.config().outside[second ? 1 : 0].store(p.data() + ip6::kDstOffset);
  }
}

void one_packet(State& s, uint8_t flags, uint8_t advance, Bytes p) {
  Nat66Table& t = (flags & 16) ? *s.endpoint_independent : *s.address_dependent;
  const Direction d = (flags & 1) ? Direction::inbound : Direction::outbound;
  s.now_ms += uint64_t{advance} * advance * 2;
  t.expire(s.now_ms, (advance & 1) ? 1024 : 8, s.counters);

  if (flags & 4) aim(p, d, (flags & 8) != 0, t);
  L4Checksum c;
  const bool has_checksum = find_l4_checksum(p.data(), p.size(), c);
  if ((flags & 2) && has_checksum) fix_l4_checksum(p.data(), c);
  const bool valid_before = has_checksum && l4_checksum_valid(p.data(), c);

  const Bytes original = p;
  const Verdict v = translate_nat66(t, d, p.data(), p.size(), s.now_ms, s.counters);
  NPT66_FUZZ_CHECK(t.counts().total() <= t.config().max_mappings, "more mappings than max_mappings");
  if (v.action != Action::translated) {
    NPT66_FUZZ_CHECK(p == original, "a packet not translated was modified");
    return;
  }
  const Address src = Address::from(p.data() + ip6::kSrcOffset), dst = Address::from(p.data() + ip6::kDstOffset);
  if (d == Direction::outbound) NPT66_FUZZ_CHECK(!t.is_inside(src), "a translated outbound packet leaks an inside source");
  else NPT66_FUZZ_CHECK(t.is_inside(dst), "a translated inbound packet is not for an inside address");
  if (valid_before) {
    L4Checksum after;
    NPT66_FUZZ_CHECK(find_l4_checksum(p.data(), p.size(), after) && l4_checksum_valid(p.data(), after),
                     "a valid checksum became invalid");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  State& s = state();
  Reader in(data, size);
  for (size_t i = 0; i < kMaxPackets && in.left() >= 4; ++i) {
    const uint8_t flags = in.u8(), advance = in.u8();
    const uint16_t len = in.u16();
    one_packet(s, flags, advance, in.take(len));
  }
  s.events.clear();
  s.address_dependent->drain_events(s.events);
  s.endpoint_independent->drain_events(s.events);
  return 0;
}
