#include "nat66_config.h"

#include <arpa/inet.h>

#include "nat66_pool.h"

namespace npt66 {
namespace {

std::string show(const Address& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

bool prefix_has_host_bits(const Prefix& p) {
  for (int bit = p.len; bit < 128; ++bit)
    if (p.addr.b[bit / 8] & (0x80 >> (bit % 8))) return true;
  return false;
}

bool in_prefix(const Prefix& p, const Address& a) {
  for (int bit = 0; bit < p.len; ++bit) {
    uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((p.addr.b[bit / 8] & m) != (a.b[bit / 8] & m)) return false;
  }
  return true;
}

// Why `a` cannot be a masquerade address, or null.
const char* refused_outside(const Address& a) {
  if (a.b[0] == 0xFF) return "is multicast";
  if (a.b[0] == 0xFE && (a.b[1] & 0xC0) == 0x80) return "is link-local";
  Address zero, loopback;
  loopback.b[15] = 1;
  if (a == zero) return "is the unspecified address";
  if (a == loopback) return "is the loopback address";
  return nullptr;
}

}  // namespace

std::string validate_sources(const std::vector<Prefix>& inside) {
  for (const Prefix& p : inside) {
    if (p.len > 128) return "masquerade: source prefix length above 128";
    if (prefix_has_host_bits(p))
      return "masquerade: source prefix " + show(p.addr) + "/" + std::to_string(p.len) +
             " has bits set beyond its length; write the network address";
  }
  return {};
}

std::string validate_outside(const std::vector<Address>& outside, const std::vector<Prefix>& inside) {
  for (size_t i = 0; i < outside.size(); ++i) {
    const Address& a = outside[i];
    if (const char* why = refused_outside(a)) return "masquerade: outside address " + show(a) + " " + why;
    for (size_t j = 0; j < i; ++j)
      if (outside[j] == a) return "masquerade: outside address " + show(a) + " is listed twice";
    for (const Prefix& p : inside)
      if (in_prefix(p, a))
        return "masquerade: outside address " + show(a) + " lies inside the source prefix; replies would loop";
  }
  return {};
}

Nat66Tunables tunables_of(const Nat66Config& c) {
  return {c.port_min,        c.port_max,     c.timeouts,   c.filtering,
          c.keep_privileged_ports, c.inbound_refresh, c.max_mappings, c.max_per_64,
          c.max_remotes_per_mapping};
}

std::string validate_tunables(const Nat66Tunables& t) {
  if (t.port_min < 1024 || t.port_min > t.port_max)
    return "masquerade: port range " + std::to_string(t.port_min) + "-" + std::to_string(t.port_max) +
           " must be within 1024-65535 with min <= max (ports below 1024 are kept below 1024 automatically)";
  if (t.timeouts.udp_ms < kNat66MinUdpTimeoutMs)
    return "masquerade: UDP timeout below 2 minutes is not allowed (RFC 4787 REQ-5); use at least 120000 ms";
  if (t.timeouts.tcp_established_ms == 0 || t.timeouts.tcp_transitory_ms == 0 || t.timeouts.icmp_ms == 0)
    return "masquerade: timeouts must be positive";
  if (t.max_mappings == 0 || t.max_mappings > kNat66MaxMappings)
    return "masquerade: maxMappings must be between 1 and " + std::to_string(kNat66MaxMappings);
  if (t.max_per_64 == 0) return "masquerade: the per-/64 limit must be at least 1";
  if (t.max_remotes_per_mapping == 0 || t.max_remotes_per_mapping > kNat66MaxRemotesPerMapping)
    return "masquerade: maxRemotesPerMapping must be between 1 and " + std::to_string(kNat66MaxRemotesPerMapping);
  return {};
}

std::string validate(const Nat66Config& c) {
  // No source prefix is allowed: "source": "docker" on a host with no IPv6 network yet masquerades nothing until
  // one appears (the schema requires the configuration to name a source).
  if (std::string error = validate_sources(c.inside); !error.empty()) return error;
  if (c.outside.empty()) return "masquerade: no outside address; give the address to masquerade to";
  if (c.outside.size() + Nat66Pool::kSpareSlots > Nat66Pool::kMaxSlots)
    return "masquerade: at most " + std::to_string(Nat66Pool::kMaxSlots - Nat66Pool::kSpareSlots) + " outside addresses";
  if (std::string error = validate_outside(c.outside, c.inside); !error.empty()) return error;
  if (std::string error = validate_tunables(tunables_of(c)); !error.empty()) return error;
  return validate_forwards(c.forwards, c.port_min, c.port_max, c.keep_privileged_ports);
}

}  // namespace npt66
