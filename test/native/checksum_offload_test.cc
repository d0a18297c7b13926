// Every NFQA_SKB_INFO case through both translators (checksum_offload.h): packets whose checksum field holds only
// the pseudo-header sum (CHECKSUM_PARTIAL, NFQA_SKB_CSUMNOTREADY), with and without NFQA_SKB_GSO, checked against
// a full recomputation after the kernel's completion rule:
// - not GSO: the packet must leave with a complete, valid checksum (nobody finishes it after a payload verdict);
// - GSO: the field must hold the pseudo-header sum of the translated addresses and the whole L4 length, so that
//   completing it (sum over the upper layer, complemented: skb_checksum_help, gso_make_checksum) gives the full
//   checksum of the translated packet.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "checksum.h"
#include "dispatch.h"
#include "nat66_packets.h"

namespace npt66::test {
namespace {

constexpr uint64_t kNow = 7'000'000;

// What the sending kernel does for CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum (RFC 8200 s8.1)
// of the packet's own addresses and upper-layer length (__tcp_v6_send_check, udp6_hwcsum_outgoing).
void make_partial(Packet& p) {
  uint8_t* c = p.bytes.data() + p.checksum_at;
  c[0] = c[1] = 0;
  uint16_t pseudo = static_cast<uint16_t>(
      ~csum::upper_layer(Address::from(p.bytes.data() + 8), Address::from(p.bytes.data() + 24), p.proto, c, 0));
  const size_t n = p.bytes.size() - p.l4;
  pseudo = csum::add(pseudo, static_cast<uint16_t>(n));  // upper_layer above summed a zero length
  c[0] = static_cast<uint8_t>(pseudo >> 8);
  c[1] = static_cast<uint8_t>(pseudo);
}

// The kernel's completion rule: the sum over the upper layer (field included), complemented.
uint16_t completed(const Packet& p) {
  uint16_t v = static_cast<uint16_t>(~csum::sum_bytes(p.bytes.data() + p.l4, p.bytes.size() - p.l4));
  if (v == 0 && p.proto == ip6::kUdp) v = 0xFFFF;
  return v;
}

Bytes payload(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  return b;
}

struct Engine {
  std::shared_ptr<const PrefixTable> nptv6 = table({{"fd01:203:405::/48", "2001:db8:1::/48"}});
  std::vector<std::unique_ptr<Nat66Table>> masquerade;
  CounterBlock counters;
  Engine() { masquerade.push_back(make_table(base_config())); }
  Handled run(Direction d, Offload o, Packet& p) {
    return dispatch(Tables{nptv6.get(), masquerade, kNow}, d, o, p.bytes.data(), p.bytes.size(), counters);
  }
};

const Address kNptInside = addr("fd01:203:405:1::1234");

// The packets of each case: NPTv6 and masquerade, TCP and UDP, with and without a Destination Options header.
std::vector<Packet> outbound_packets(size_t size) {
  std::vector<Packet> v;
  for (const Address& src : {kNptInside, kContainer}) {
    v.push_back(build_ipv6(src, kRemote, tcp(40001, 443, payload(size))));
    v.push_back(build_ipv6(src, kRemote, udp(40002, 443, payload(size))));
    v.push_back(build_ipv6(src, kRemote, {dest_opts()}, tcp(40003, 443, payload(size))));
    v.push_back(build_ipv6(src, kRemote, {dest_opts()}, udp(40004, 443, payload(size))));
  }
  return v;
}

TEST(ChecksumOffload, PartialNotGsoLeavesWithACompleteChecksumThroughBothTranslators) {
  Engine e;
  for (Packet& p : outbound_packets(1400)) {
    make_partial(p);
    Handled h = e.run(Direction::outbound, Offload{false, true}, p);
    ASSERT_EQ(h.verdict.action, Action::translated) << static_cast<int>(h.verdict.reason);
    EXPECT_EQ(read16(p.bytes, p.checksum_at), full_checksum(p));
    EXPECT_TRUE(l4_checksum_ok(p));
  }
  EXPECT_EQ(e.counters.get(Counter::offload_checksum_completed), 8u);
}

TEST(ChecksumOffload, PartialEchoRequestIsCompletedAndMasqueraded) {
  Engine e;
  Packet p = build_ipv6(kContainer, kRemote, echo_request(77, 1, payload(1000)));
  make_partial(p);
  Handled h = e.run(Direction::outbound, Offload{false, true}, p);
  ASSERT_EQ(h.verdict.reason, Counter::nat66_outbound);
  EXPECT_TRUE(l4_checksum_ok(p));
}

TEST(ChecksumOffload, GsoPartialKeepsThePseudoHeaderSumOfTheTranslatedAddresses) {
  Engine e;
  for (Packet& p : outbound_packets(60000)) {  // a 64 KB super-packet, as TSO/GRO hand it over
    make_partial(p);
    Handled h = e.run(Direction::outbound, Offload{true, true}, p);
    ASSERT_EQ(h.verdict.action, Action::translated) << static_cast<int>(h.verdict.reason);
    EXPECT_NE(Address::from(p.bytes.data() + 8), kNptInside);
    EXPECT_NE(Address::from(p.bytes.data() + 8), kContainer);
    EXPECT_EQ(completed(p), full_checksum(p)) << "segmentation would complete a wrong checksum";
  }
  EXPECT_EQ(e.counters.get(Counter::offload_gso_packets), 8u);
  EXPECT_EQ(e.counters.get(Counter::offload_checksum_completed), 0u);
}

TEST(ChecksumOffload, GsoWithAFullChecksumGetsThePseudoHeaderSumForSegmentation) {
  // GSO without CHECKSUM_PARTIAL (e.g. fraglist GRO): __udp_gso_segment still reads the field as the pseudo sum.
  Engine e;
  for (Packet& p : outbound_packets(30000)) {
    Handled h = e.run(Direction::outbound, Offload{true, false}, p);
    ASSERT_EQ(h.verdict.action, Action::translated);
    EXPECT_EQ(completed(p), full_checksum(p));
  }
}

TEST(ChecksumOffload, InboundGsoReplyThroughTheMasquerade) {
  Engine e;
  Packet out = build_ipv6(kContainer, kRemote, tcp(40010, 443, payload(100), 0x02));
  ASSERT_EQ(e.run(Direction::outbound, Offload{}, out).verdict.action, Action::translated);
  const uint16_t port = port_at(out, 0);
  Packet in = build_ipv6(kRemote, kOutside, tcp(443, port, payload(60000), 0x12));
  make_partial(in);
  Handled h = e.run(Direction::inbound, Offload{true, true}, in);
  ASSERT_EQ(h.verdict.reason, Counter::nat66_inbound);
  EXPECT_EQ(Address::from(in.bytes.data() + 24), kContainer);
  EXPECT_EQ(port_at(in, 2), 40010);
  EXPECT_EQ(completed(in), full_checksum(in));
}

TEST(ChecksumOffload, WithoutOffloadNothingChanges) {
  Engine e;
  for (Packet& p : outbound_packets(1400)) {
    Handled h = e.run(Direction::outbound, Offload{}, p);
    ASSERT_EQ(h.verdict.action, Action::translated);
    EXPECT_TRUE(l4_checksum_ok(p));
  }
  EXPECT_EQ(e.counters.get(Counter::offload_checksum_completed), 0u);
}

// A field that is not this header's pseudo-header sum means the kernel's csum_start is elsewhere (a tunnel's
// inner header): completing or rebuilding it here would corrupt the packet. Refused, unchanged.
TEST(ChecksumOffload, PartialWhoseFieldIsNotThePseudoHeaderSumIsRefusedUnchanged) {
  Engine e;
  for (bool gso : {false, true}) {
    Packet p = build_ipv6(kNptInside, kRemote, udp(4789, 4789, payload(1400)));  // e.g. VXLAN, inner csum partial
    const Bytes before = p.bytes;
    Handled h = e.run(Direction::outbound, Offload{gso, true}, p);
    EXPECT_EQ(h.verdict.action, Action::drop);
    EXPECT_EQ(h.verdict.reason, Counter::drop_offload_layout);
    EXPECT_EQ(p.bytes, before);
  }
  EXPECT_EQ(e.counters.get(Counter::drop_offload_layout), 2u);
}

TEST(ChecksumOffload, GsoThatIsNotTcpOrUdpOrHasARoutingHeaderIsRefused) {
  Engine e;
  std::vector<Packet> packets;
  packets.push_back(build_ipv6(kNptInside, kRemote, echo_request(1, 1, payload(3000))));
  packets.push_back(build_ipv6(kNptInside, kRemote, {routing({kRemote2})}, udp(1, 2, payload(3000))));
  packets.push_back(build_ipv6(kNptInside, kRemote, {fragment(0, true)}, udp(1, 2, payload(3000))));
  for (Packet& p : packets) {
    const Bytes before = p.bytes;
    Handled h = e.run(Direction::outbound, Offload{true, false}, p);
    EXPECT_EQ(h.verdict.reason, Counter::drop_offload_layout);
    EXPECT_EQ(p.bytes, before);
  }
}

TEST(ChecksumOffload, SumBytesMatchesTheReferenceSumAtEveryLengthAndAlignment) {
  const Bytes data = payload(300);
  for (size_t start = 0; start < 8; ++start)
    for (size_t len = 0; len + start <= data.size(); ++len)
      ASSERT_EQ(csum::sum_bytes(data.data() + start, len) % 0xFFFF, ref_fold(ref_sum(data.data() + start, len)) % 0xFFFF)
          << start << "+" << len;
}

}  // namespace
}  // namespace npt66::test
