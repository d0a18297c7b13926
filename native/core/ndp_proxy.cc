#include "ndp_proxy.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "checksum.h"

namespace npt66 {

namespace {

constexpr uint8_t kNeighborSolicit = 135;
constexpr uint8_t kNeighborAdvert = 136;
constexpr uint8_t kOptSourceLinkAddr = 1;  // RFC 4861 s4.6.1
constexpr uint8_t kOptTargetLinkAddr = 2;
constexpr size_t kNsLen = 24;  // type, code, checksum, reserved, target (RFC 4861 s4.3)

bool is_unspecified(const Address& a) noexcept { return a.high64() == 0 && a.low64() == 0; }
bool is_loopback(const Address& a) noexcept { return a.high64() == 0 && a.low64() == 1; }
bool is_v4_mapped(const Address& a) noexcept { return a.high64() == 0 && (a.low64() >> 32) == 0xffff; }

// ff02::1:ffXX:XXXX for `target` (RFC 4291 s2.7.1).
bool is_solicited_node_of(const Address& dst, const Address& target) noexcept {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  return std::memcmp(dst.b.data(), kPrefix, 13) == 0 && std::memcmp(dst.b.data() + 13, target.b.data() + 13, 3) == 0;
}

// Whether npt66 answers for `target` on this interface (never for the interface's own addresses).
bool ours(const NdpProxyInterface& policy, const NdpLink& link, const Address& target) noexcept {
  if (!policy.table) return false;
  if (std::find(link.own.begin(), link.own.end(), target) != link.own.end()) return false;
  const Mapping* m = policy.table->match(target, Direction::inbound);
  if (m == nullptr) return false;  // outside every configured outside prefix
  // Only an address the entry would translate inbound: not the subnet-router anycast address, not an all-ones
  // interface identifier, not a /48's subnet 0xFFFF (RFC 4291 s2.6.1, RFC 6296 s3.5 and s4.2): packets to it
  // would be refused anyway, so claiming it on the link would only swallow them.
  Address mapped = target;
  if (map_address(*m, Direction::inbound, mapped) != Counter::count_) return false;
  if (policy.modes[m->index] == NdpProxyMode::prefix) return true;
  const std::vector<Address>& live = policy.neighbours[m->index];
  return std::binary_search(live.begin(), live.end(), target,
                            [](const Address& x, const Address& y) { return x.b < y.b; });
}

}  // namespace

const NdpProxyInterface* NdpProxyPolicy::find(const std::string& name) const noexcept {
  for (const NdpProxyInterface& i : interfaces)
    if (i.name == name) return &i;
  return nullptr;
}

std::shared_ptr<const NdpProxyPolicy> NdpProxyPolicy::compile(std::vector<NdpProxyEntry> entries, std::string& error) {
  std::map<std::string, std::vector<NdpProxyEntry*>> by_interface;
  for (NdpProxyEntry& e : entries) by_interface[e.pair.interface].push_back(&e);
  auto policy = std::make_shared<NdpProxyPolicy>();
  for (auto& [name, group] : by_interface) {
    if (name.empty()) {
      error = "proxy NDP entry without an interface";
      return nullptr;
    }
    NdpProxyInterface i;
    i.name = name;
    std::vector<PrefixPair> pairs;
    for (NdpProxyEntry* e : group) {
      pairs.push_back(e->pair);
      i.modes.push_back(e->mode);
      std::sort(e->neighbours.begin(), e->neighbours.end(), [](const Address& x, const Address& y) { return x.b < y.b; });
      i.neighbours.push_back(std::move(e->neighbours));
    }
    std::string why;
    i.table = PrefixTable::compile(pairs, why);
    if (!i.table) {
      error = "proxy NDP on " + name + ": " + why;
      return nullptr;
    }
    policy->interfaces.push_back(std::move(i));
  }
  return policy;
}

bool ndp_proxy_answer(const NdpProxyInterface& policy, const NdpLink& link, const uint8_t* p, size_t len,
                      uint8_t* out, CounterBlock& counters) noexcept {
  // RFC 4861 s7.1.1: a node MUST silently discard a solicitation that fails any of these.
  auto invalid = [&] {
    counters.add(Counter::ndp_proxy_invalid);
    return false;
  };
  if (len < ip6::kHeaderLen || (p[0] >> 4) != 6) return invalid();
  const size_t payload = load_be16(p + 4);
  if (p[6] != ip6::kIcmpv6 || payload < kNsLen || ip6::kHeaderLen + payload > len) return invalid();  // no extension headers
  if (p[7] != 255) return invalid();  // hop limit 255: it was not forwarded
  const uint8_t* icmp = p + ip6::kHeaderLen;
  if (icmp[0] != kNeighborSolicit || icmp[1] != 0) return invalid();
  const Address src = Address::from(p + ip6::kSrcOffset);
  const Address dst = Address::from(p + ip6::kDstOffset);
  // The sum over a correct message, its checksum included, is 0xFFFF: complemented, 0.
  if (csum::upper_layer(src, dst, ip6::kIcmpv6, icmp, payload) != 0) return invalid();
  const Address target = Address::from(icmp + 8);
  if (target.b[0] == 0xff) return invalid();  // target not multicast
  // The source as ip6_rcv_core would check it (an AF_PACKET socket sees the frame before it does): never multicast,
  // loopback or IPv4-mapped, or the answer would go to a group (RFC 4861 s7.1.1: the source is unspecified or a
  // unicast address of the sender).
  if (src.b[0] == 0xff || is_loopback(src) || is_v4_mapped(src)) return invalid();
  bool has_slla = false;
  for (size_t o = kNsLen; o < payload;) {  // options: each at least 8 bytes, none of length 0
    if (o + 2 > payload || icmp[o + 1] == 0 || o + 8 * size_t{icmp[o + 1]} > payload) return invalid();
    has_slla |= icmp[o] == kOptSourceLinkAddr;
    o += 8 * size_t{icmp[o + 1]};
  }
  const bool dad = is_unspecified(src);
  // A DAD probe (source ::) must go to the target's solicited-node address and carry no SLLA option.
  if (dad && (!is_solicited_node_of(dst, target) || has_slla)) return invalid();
  // To the target's solicited-node address (resolution) or to the target itself (unreachability detection).
  if (!is_solicited_node_of(dst, target) && !(dst == target)) return invalid();
  if (!ours(policy, link, target)) {
    counters.add(Counter::ndp_proxy_not_ours);
    return false;
  }
  // RFC 4862 s5.4.3: a probe means a node is about to take the address; answering would make it give the
  // address up (s5.4.5). A proxy answers for a node elsewhere, which never probes here: stay silent.
  if (dad) {
    counters.add(Counter::ndp_proxy_ignored_dad);
    return false;
  }
  if (!link.has_link_local || !link.has_mac) {
    counters.add(Counter::ndp_proxy_send_failed);
    return false;
  }
  // RFC 4861 s4.4 / s7.2.4: to the solicitation's source, from our link-local address, hop limit 255.
  std::memset(out, 0, kNdpAdvertLen);
  out[0] = 0x60;
  store_be16(out + 4, 32);
  out[6] = ip6::kIcmpv6;
  out[7] = 255;
  link.link_local.store(out + ip6::kSrcOffset);
  src.store(out + ip6::kDstOffset);
  uint8_t* na = out + ip6::kHeaderLen;
  na[0] = kNeighborAdvert;
  // Flags: Solicited (s7.2.4: an answer to a unicast source). Override 0: s7.2.8, "All solicited proxy Neighbor
  // Advertisement messages MUST have the Override flag set to zero", so the real owner, if it ever appears on
  // this link, wins. Router 0: the flag describes the target's owner (an inside host behind the translation,
  // not a router), as the kernel's own proxy sends it (ndisc.c: pndisc_is_router, NTF_ROUTER unset).
  na[4] = 0x40;
  target.store(na + 8);
  na[24] = kOptTargetLinkAddr;
  na[25] = 1;
  std::memcpy(na + 26, link.mac.data(), 6);
  store_be16(na + 2, csum::upper_layer(link.link_local, src, ip6::kIcmpv6, na, 32));
  return true;  // counted by the caller once sent (ndp_proxy_answered or ndp_proxy_send_failed)
}

}  // namespace npt66
