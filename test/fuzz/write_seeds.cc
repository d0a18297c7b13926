// Writes the seed corpora of the fuzz targets into DIR/<target>/seed-NN (scripts/fuzz.sh --seeds runs it with
// DIR = test/fuzz/corpus). Packets come from test/native/packet_builder.h, aimed at the fuzz targets' fixed
// tables (fuzz_tables.h), and are laid out in each target's input format (see the target's header comment).
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "fuzz_tables.h"
#include "packet_builder.h"

using namespace npt66;
using namespace npt66::fuzz;
using test::build_ipv6;
using test::Ext;

namespace {

namespace fs = std::filesystem;

struct Corpus {
  fs::path dir;
  int n = 0;
  Corpus(const fs::path& root, const std::string& target) : dir(root / target) {
    fs::create_directories(dir);
    for (const auto& f : fs::directory_iterator(dir))
      if (f.path().filename().string().rfind("seed-", 0) == 0) fs::remove(f.path());
  }
  void add(const Bytes& b) {
    char name[32];
    std::snprintf(name, sizeof name, "seed-%02d", n++);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
};

Bytes cut(Bytes b, size_t n) {
  b.resize(std::min(n, b.size()));
  return b;
}

const Address kNptInside48 = parse_address("fd01:203:405:1::1234");
const Address kNptInside52 = parse_address("fd00:aaaa:bbbb:c123::5");
const Address kNptInside64 = parse_address("fd00:1111:2222:3333::77");
const Address kNptInsideMixed = parse_address("fd03:1::9");
const Address kNptInside56 = parse_address("fd04:4:4:4401::1");
const Address kNptOutside48 = parse_address("2001:db8:1:1::1234");
const Address kNptOutside64 = parse_address("2001:db8:3:4444::1:77");
const Address kRouter = parse_address("2001:db8:ffff::1");

// Packets an NPTv6 gateway sees, with flags byte for nptv6_fuzz (bit 0 inbound, bit 1 one-pair table).
std::vector<std::pair<uint8_t, Bytes>> nptv6_packets() {
  std::vector<std::pair<uint8_t, Bytes>> v;
  auto out = [&](const test::Packet& p, bool one = false) { v.push_back({one ? 2 : 0, p.bytes}); };
  auto in = [&](const test::Packet& p, bool one = false) { v.push_back({one ? 3 : 1, p.bytes}); };
  for (const Address& a : {kNptInside48, kNptInside52, kNptInside64, kNptInsideMixed, kNptInside56})
    out(build_ipv6(a, kRemote, test::udp(5000, 53, {1, 2, 3})));
  out(build_ipv6(kNptInside48, kRemote, test::tcp(40000, 443, {}, 0x02)), true);
  out(build_ipv6(kNptInside64, kRemote, test::echo_request(7, 1)));
  out(build_ipv6(kNptInside48, kRemote, {test::hop_by_hop(), test::dest_opts(16)}, test::udp(5000, 53, {9})));
  out(build_ipv6(kNptInside48, kRemote, {test::fragment(0, true)}, test::udp(5000, 53, Bytes(24, 7))));
  out(build_ipv6(kNptInside48, kRemote, {test::fragment(3, false)}, test::opaque(ip6::kUdp)));
  out(build_ipv6(kNptInside48, kRemote, {test::routing({kRouter})}, test::tcp(1, 2)));
  out(build_ipv6(kNptInside48, kRemote, {test::auth_header()}, test::udp(5000, 53)));
  out(build_ipv6(parse_address("fd01:203:405:ffff::1"), kRemote, test::udp(1, 2)), true);  // subnet 0xFFFF
  out(build_ipv6(parse_address("fd00:1111:2222:3333:ffff:ffff:ffff:ffff"), kRemote, test::udp(1, 2)));
  out(build_ipv6(parse_address("fd00:1111:2222:3333::"), kRemote, test::udp(1, 2)));  // subnet-router anycast
  out(build_ipv6(kNptInside48, kRemote, test::icmp6(135, 0, 0, Bytes(16, 0))));       // ND off-link
  // An error from inside about a packet that came in: the quoted destination is an inside address.
  out(build_ipv6(kNptInside48, kRemote,
                 test::icmp6_error(icmp6::kDestUnreachable, 4, 0,
                                   build_ipv6(kRemote, kNptInside48, test::udp(53, 5000, {1})).bytes)));
  out(build_ipv6(kNptInside64, kRemote,
                 test::icmp6_error(icmp6::kTimeExceeded, 0, 0,
                                   build_ipv6(kRemote, kNptInside64, test::tcp(443, 40000)).bytes, 44)));
  in(build_ipv6(kRemote, kNptOutside48, test::udp(53, 5000, {1, 2})));
  in(build_ipv6(kRemote, kNptOutside48, test::tcp(443, 40000, {}, 0x12)), true);
  in(build_ipv6(kRemote, kNptOutside64, test::icmp6(icmp6::kEchoReply, 0, 7 << 16 | 1, {'p'})));
  // Packet Too Big from a router about what an inside host sent: the quoted source is an outside address.
  in(build_ipv6(kRouter, kNptOutside48,
                test::icmp6_error(icmp6::kPacketTooBig, 0, 1280,
                                  build_ipv6(kNptOutside48, kRemote, test::udp(5000, 53, Bytes(1300, 1))).bytes)));
  in(build_ipv6(kRouter, kNptOutside64,
                test::icmp6_error(icmp6::kParamProblem, 0, 8,
                                  build_ipv6(kNptOutside64, kRemote, {test::hop_by_hop()}, test::udp(1, 2)).bytes)));
  // Malformed: cut short, not version 6, jumbogram, nine extension headers.
  Bytes bad = build_ipv6(kNptInside48, kRemote, test::udp(1, 2, {1, 2, 3, 4})).bytes;
  v.push_back({0, cut(bad, 45)});
  Bytes v4 = bad;
  v4[0] = 0x45;
  v.push_back({0, v4});
  Bytes jumbo = bad;
  jumbo[4] = jumbo[5] = 0;
  v.push_back({0, jumbo});
  std::vector<Ext> nine(9, test::dest_opts());
  out(build_ipv6(kNptInside48, kRemote, nine, test::udp(1, 2)));
  return v;
}

// One nat66_fuzz record.
void record(Writer& w, uint8_t flags, uint8_t advance, const Bytes& p) {
  w.u8(flags).u8(advance).u16(static_cast<uint16_t>(p.size())).bytes(p);
}

void nat66_seeds(const fs::path& root) {
  Corpus c(root, "nat66_fuzz");
  // The seeds' table is the fuzz target's: same configuration and seed, so the same pool address and ports.
  auto t = create_or_abort(small_masquerade_config(Nat66Filtering::address_dependent));
  const Address host = kMasqInside, host2 = parse_address("fd5a:ceb9:ed8d:1::3");
  const Address pool = t->outside_for(host), pool2 = t->outside_for(host2);
  constexpr uint8_t kOut = 0, kIn = 1, kFix = 2;
  {  // UDP out, its reply, an error about it from a router, then silence until it expires.
    Writer w;
    record(w, kOut, 0, build_ipv6(host, kRemote, test::udp(20005, 53, {1, 2, 3})).bytes);
    record(w, kIn, 1, build_ipv6(kRemote, pool, test::udp(53, 20005, {4})).bytes);
    record(w, kIn, 1, build_ipv6(kRouter, pool, test::icmp6_error(icmp6::kDestUnreachable, 3, 0,
        build_ipv6(pool, kRemote, test::udp(20005, 53, {1, 2, 3})).bytes)).bytes);
    record(w, kIn, 255, build_ipv6(kRemote, pool, test::udp(53, 20005, {5})).bytes);
    c.add(w.out);
  }
  {  // TCP handshake and close.
    Writer w;
    record(w, kOut, 0, build_ipv6(host, kRemote, test::tcp(20007, 443, {}, 0x02)).bytes);
    record(w, kIn, 1, build_ipv6(kRemote, pool, test::tcp(443, 20007, {}, 0x12)).bytes);
    record(w, kOut, 1, build_ipv6(host, kRemote, test::tcp(20007, 443, {'x'}, 0x10)).bytes);
    record(w, kOut, 2, build_ipv6(host, kRemote, test::tcp(20007, 443, {}, 0x11)).bytes);
    record(w, kIn, 2, build_ipv6(kRemote, pool, test::tcp(443, 20007, {}, 0x11)).bytes);
    record(w, kIn, 3, build_ipv6(kRemote, pool, test::tcp(443, 20007, {}, 0x04)).bytes);
    c.add(w.out);
  }
  {  // Echo request and reply; a Time Exceeded about the request.
    Writer w;
    record(w, kOut, 0, build_ipv6(host, kRemote, test::echo_request(20009, 1)).bytes);
    record(w, kIn, 1, build_ipv6(kRemote, pool, test::icmp6(icmp6::kEchoReply, 0, 20009u << 16 | 1, {'p'})).bytes);
    record(w, kIn, 1, build_ipv6(kRouter, pool, test::icmp6_error(icmp6::kTimeExceeded, 0, 0,
        build_ipv6(pool, kRemote, test::echo_request(20009, 1)).bytes)).bytes);
    c.add(w.out);
  }
  {  // An error from inside about an inbound packet (RFC 5508 s4.2).
    Writer w;
    record(w, kOut, 0, build_ipv6(host, kRemote, test::udp(20011, 123, {1})).bytes);
    record(w, kOut, 1, build_ipv6(host, kRemote, test::icmp6_error(icmp6::kDestUnreachable, 4, 0,
        build_ipv6(kRemote, host, test::udp(123, 20011, {2})).bytes)).bytes);
    c.add(w.out);
  }
  {  // Hairpin: host2 sends to host's outside endpoint.
    Writer w;
    record(w, kOut, 0, build_ipv6(host, kRemote, test::udp(20013, 53, {1})).bytes);
    record(w, kOut, 0, build_ipv6(host2, pool2, test::udp(20014, 53, {1})).bytes);
    record(w, kOut, 1, build_ipv6(host2, pool, test::udp(20014, 20013, {1})).bytes);
    c.add(w.out);
  }
  {  // Many flows from one /64: ports and the per-/64 limit run out.
    Writer w;
    for (uint16_t i = 0; i < 32; ++i)
      record(w, kOut, 0, build_ipv6(host, kRemote, test::udp(static_cast<uint16_t>(30000 + i), 53, {1})).bytes);
    c.add(w.out);
  }
  {  // Aimed and checksum-fixed records: the fuzzer may mangle freely and still reach the table.
    Writer w;
    record(w, kOut | kFix | 4, 0, build_ipv6(kRemote, kRemote, test::udp(1000, 53, {1})).bytes);
    record(w, kIn | kFix | 4, 0, build_ipv6(kRemote, kRemote, test::udp(53, 1000, {1})).bytes);
    record(w, kOut | kFix | 4 | 8 | 16, 9, build_ipv6(kRemote, kRemote, test::tcp(1000, 80, {}, 0x02)).bytes);
    record(w, kIn | kFix | 4 | 8 | 16, 9, build_ipv6(kRemote, kRemote, test::tcp(80, 1000, {}, 0x12)).bytes);
    c.add(w.out);
  }
  {  // Things masquerade refuses or leaves alone.
    Writer w;
    record(w, kOut, 0, build_ipv6(host, kRemote, {test::fragment(0, true)}, test::udp(20015, 53, Bytes(16, 1))).bytes);
    record(w, kOut, 0, build_ipv6(host, kRemote, {test::fragment(2, false)}, test::opaque(ip6::kUdp)).bytes);
    record(w, kOut, 0, build_ipv6(host, kRemote, test::opaque(ip6::kEsp)).bytes);
    record(w, kOut, 0, build_ipv6(host, kRemote, test::icmp6(135, 0, 0, Bytes(16, 0))).bytes);
    record(w, kIn, 0, build_ipv6(kRemote, pool, test::echo_request(3, 3)).bytes);
    record(w, kIn, 0, build_ipv6(kRemote, pool, test::udp(53, 22, {1})).bytes);
    Bytes zero = build_ipv6(host, kRemote, test::udp(20016, 53, {1})).bytes;
    zero[46] = zero[47] = 0;
    record(w, kOut, 0, zero);
    c.add(w.out);
  }
  // Single packets, one per record, with extension headers.
  for (const auto& [flags, p] : nptv6_packets()) {
    (void)flags;
    Writer w;
    record(w, kFix | 4, 3, p);
    c.add(w.out);
    if (c.n >= 30) break;
  }
}

// A NFQNL_MSG_PACKET message as the kernel builds it: packet header, metadata, payload last.
// Inbound packets arrive on interface 3, the fuzz target's outside interface, unless `indev` says otherwise.
Bytes queue_message(uint32_t id, int hook, const Bytes* payload, uint32_t cap_len = 0, bool with_header = true,
                    uint32_t indev = 3) {
  alignas(4) static uint8_t buf[4096];
  std::memset(buf, 0, sizeof buf);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_INET6;
  if (with_header) {
    nfqnl_msg_packet_hdr ph{};
    ph.packet_id = htonl(id);
    ph.hw_protocol = htons(0x86dd);
    ph.hook = static_cast<uint8_t>(hook);
    mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof ph, &ph);
  }
  mnl_attr_put_u32(nlh, NFQA_MARK, htonl(5));
  if (hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN) mnl_attr_put_u32(nlh, NFQA_IFINDEX_INDEV, htonl(indev));
  else mnl_attr_put_u32(nlh, NFQA_IFINDEX_OUTDEV, htonl(3));
  if (cap_len != 0) mnl_attr_put_u32(nlh, NFQA_CAP_LEN, htonl(cap_len));
  if (payload != nullptr) mnl_attr_put(nlh, NFQA_PAYLOAD, payload->size(), payload->data());
  return Bytes(buf, buf + nlh->nlmsg_len);
}

void queue_seeds(const fs::path& root) {
  Corpus c(root, "queue_message_fuzz");
  auto t = create_or_abort(small_masquerade_config(Nat66Filtering::address_dependent));
  const Address pool = t->outside_for(kMasqInside);
  uint32_t id = 1;
  for (const auto& [flags, p] : nptv6_packets()) {
    const int hook = (flags & 1) ? NF_INET_PRE_ROUTING : NF_INET_POST_ROUTING;
    c.add(queue_message(id++, hook, &p));
    if (c.n >= 14) break;
  }
  const Bytes out = build_ipv6(kMasqInside, kRemote, test::udp(20005, 53, {1, 2})).bytes;
  const Bytes in = build_ipv6(kRemote, pool, test::udp(53, 20005, {3})).bytes;
  const Bytes hairpin = build_ipv6(parse_address("fd5a:ceb9:ed8d:1::3"), pool, test::udp(20006, 20005, {4})).bytes;
  c.add(queue_message(id++, NF_INET_POST_ROUTING, &out));
  c.add(queue_message(id++, NF_INET_LOCAL_OUT, &out));
  c.add(queue_message(id++, NF_INET_PRE_ROUTING, &in));
  c.add(queue_message(id++, NF_INET_LOCAL_IN, &in));
  c.add(queue_message(id++, NF_INET_PRE_ROUTING, &hairpin, 0, true, 2));  // from the inside interface
  c.add(queue_message(id++, NF_INET_PRE_ROUTING, &hairpin));              // the same, forged from outside
  c.add(queue_message(id++, NF_INET_FORWARD, &out));        // a hook the engine never queues from
  c.add(queue_message(id++, NF_INET_POST_ROUTING, &out, 1500));  // capture cut short
  c.add(queue_message(id++, NF_INET_POST_ROUTING, nullptr));     // no payload
  c.add(queue_message(id++, NF_INET_POST_ROUTING, &out, 0, false));  // no packet header
  Bytes overrun = queue_message(id++, NF_INET_POST_ROUTING, &out);
  overrun[overrun.size() - MNL_ALIGN(out.size()) - MNL_ATTR_HDRLEN] = 0xFF;  // payload attribute too long
  c.add(overrun);
}

void icmp_reply_seeds(const fs::path& root) {
  Corpus c(root, "icmp_reply_fuzz");
  const Address from = parse_address("2001:db8:1::1");
  auto add = [&](uint8_t type, uint8_t code, uint32_t param, uint16_t cap, const Bytes& offending) {
    Writer w;
    w.u8(type).u8(code).u32(param).u16(cap).address(from).bytes(offending);
    c.add(w.out);
  };
  const Bytes udp = build_ipv6(kNptInside48, kRemote, test::udp(5000, 53, {1, 2, 3})).bytes;
  const Bytes big = build_ipv6(kNptInside48, kRemote, test::udp(5000, 53, Bytes(1400, 9))).bytes;
  add(icmp6::kParamProblem, 0, 8, 1280, udp);
  add(icmp6::kParamProblem, 0, 24, 1280, build_ipv6(kRemote, kNptOutside48, test::tcp(443, 40000)).bytes);
  add(icmp6::kDestUnreachable, 1, 0, 1280, build_ipv6(kMasqInside, kRemote, test::echo_request(1, 1)).bytes);
  add(icmp6::kPacketTooBig, 0, 1280, 1500, big);
  add(icmp6::kPacketTooBig, 0, 1280, 100, big);  // capacity too small
  add(icmp6::kTimeExceeded, 0, 0, 1280, build_ipv6(kRemote, parse_address("ff02::1"), test::udp(1, 2)).bytes);
  add(icmp6::kPacketTooBig, 0, 1280, 1280, build_ipv6(kRemote, parse_address("ff0e::1"), test::udp(1, 2)).bytes);
  add(icmp6::kParamProblem, 2, 40, 1280, build_ipv6(kRemote, parse_address("ff02::2"), test::udp(1, 2)).bytes);
  add(icmp6::kDestUnreachable, 0, 0, 1280, build_ipv6(Address{}, kRemote, test::udp(1, 2)).bytes);
  add(icmp6::kDestUnreachable, 0, 0, 1280,
      build_ipv6(kRemote, kNptInside48, test::icmp6_error(icmp6::kPacketTooBig, 0, 1280, udp)).bytes);  // (e.1)
  add(icmp6::kDestUnreachable, 0, 0, 1280, build_ipv6(kRemote, kNptInside48, test::icmp6(137, 0, 0, Bytes(32, 0))).bytes);
  add(icmp6::kDestUnreachable, 0, 0, 1280, build_ipv6(kRemote, kNptInside48, {test::hop_by_hop(), test::fragment(0, true)},
                                                      test::udp(1, 2, Bytes(8, 1))).bytes);
  add(icmp6::kDestUnreachable, 0, 0, 1280, cut(udp, 43));
  add(icmp6::kDestUnreachable, 0, 0, 1280, cut(udp, 39));
}

void config_seeds(const fs::path& root) {
  Corpus c(root, "config_fuzz");
  auto masq = [](Writer& w, const Nat66Config& m, uint8_t flags, const Address& host, uint16_t sport) {
    w.u8(static_cast<uint8_t>(flags | (m.inside.size() - 1) | (m.outside.size() - 1) << 2));
    for (const Prefix& p : m.inside) w.address(p.addr).u8(p.len);
    for (const Address& a : m.outside) w.address(a);
    w.u16(m.port_min).u16(m.port_max).u32(static_cast<uint32_t>(m.timeouts.udp_ms)).u32(m.max_mappings).u32(m.max_per_64);
    w.address(host).u16(sport).address(kRemote).u16(53);
  };
  const auto pairs = nptv6_pairs();
  const Nat66Config m = small_masquerade_config(Nat66Filtering::address_dependent);
  for (size_t n = 1; n <= 4; ++n) {
    for (uint8_t tidy : {0, 4}) {
      Writer w;
      w.u8(static_cast<uint8_t>((n - 1) | tidy));
      for (size_t i = 0; i < n; ++i) {
        const PrefixPair& p = pairs[(i + n) % pairs.size()];
        w.address(p.inside.addr).u8(tidy ? static_cast<uint8_t>(p.inside.len - 1) : p.inside.len);
        w.address(p.outside.addr).u8(tidy ? static_cast<uint8_t>(p.outside.len - 1) : p.outside.len);
      }
      w.address(parse_address("::1234:5678:9abc:def0"));
      masq(w, m, static_cast<uint8_t>(n % 2 ? 64 | 128 : 32), kMasqInside, static_cast<uint16_t>(n * 11000));
      c.add(w.out);
    }
  }
  {  // Refused: overlapping pairs, host bits, a link-local outside address, a bad port range.
    Writer w;
    w.u8(1);
    w.address(pairs[0].inside.addr).u8(48).address(pairs[0].outside.addr).u8(48);
    w.address(pairs[0].inside.addr).u8(40).address(pairs[1].outside.addr).u8(52);
    w.address(parse_address("::ffff"));
    Nat66Config bad = m;
    bad.outside = {parse_address("fe80::1")};
    bad.port_min = 100;
    masq(w, bad, 0, kMasqInside, 80);
    c.add(w.out);
  }
  {  // A /128 source, two outside addresses, privileged port.
    Writer w;
    w.u8(0).address(pairs[2].inside.addr).u8(64).address(pairs[2].outside.addr).u8(64).address(Address{});
    Nat66Config single = m;
    single.inside = {{kMasqInside, 128}};
    masq(w, single, 64, kMasqInside, 22);
    c.add(w.out);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  {
    Corpus nptv6(root, "nptv6_fuzz"), view(root, "packet_view_fuzz");
    for (const auto& [flags, p] : nptv6_packets()) {
      Bytes in{flags};
      in.insert(in.end(), p.begin(), p.end());
      nptv6.add(in);
      view.add(p);
    }
  }
  nat66_seeds(root);
  queue_seeds(root);
  icmp_reply_seeds(root);
  config_seeds(root);
  std::printf("seeds written to %s\n", root.c_str());
  return 0;
}
