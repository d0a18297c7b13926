// NAT66 masquerade configuration (REFERENCE s4): which inside sources are masqueraded, to which outside
// address(es), from which port range, with which timers, limits and filtering. Validated at creation; the
// sources, outside addresses, forwards and tunables (Nat66Tunables) may change while running (Nat66Table's
// set_sources, set_outside, set_forwards, set_tunables), each validated here again.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ipv6.h"
#include "nat66_forwards.h"
#include "prefix_map.h"

namespace npt66 {

// RFC 4787 s5: which inbound packets a mapping accepts. Endpoint-independent mapping is always used (REQ-1).
enum class Nat66Filtering : uint8_t {
  endpoint_independent,  // any remote may reach the mapping's outside address+port
  address_dependent,     // only remote addresses the inside endpoint has sent to (the default, REQ-8 recommends it)
};

// Mapping lifetimes in milliseconds. Defaults are the RFC values.
struct Nat66Timeouts {
  uint64_t udp_ms = 300'000;               // RFC 4787 REQ-5: >= 2 min, 5 min recommended (2 min is enforced)
  uint64_t tcp_established_ms = 7'440'000;  // RFC 5382 REQ-5: >= 2 h 4 min
  uint64_t tcp_transitory_ms = 240'000;     // RFC 5382 REQ-5 / RFC 7857 s2.2: 4 min (SYN-only, FIN both ways, RST)
  uint64_t icmp_ms = 60'000;                // RFC 5508 REQ-1: ICMP query mappings >= 60 s
};

inline constexpr uint64_t kNat66MinUdpTimeoutMs = 120'000;  // RFC 4787 REQ-5: never below 2 min
inline constexpr uint32_t kNat66MaxMappings = 1u << 28;     // handle space: 16 shards x 2^24 slots (nat66_table.cc)
inline constexpr uint32_t kNat66MaxRemotesPerMapping = 1u << 16;

struct Nat66Config {
  std::vector<Prefix> inside;    // source prefixes whose traffic is masqueraded (any length 0..128)
  std::vector<Address> outside;  // outside address pool, >= 1; an inside address always uses the same one (REQ-2)
  uint16_t port_min = 20000;     // outside ports for inside ports >= 1024 and for ICMPv6 echo identifiers;
  uint16_t port_max = 29999;     // must not overlap net.ipv4.ip_local_port_range (the host's own sockets)
  Nat66Timeouts timeouts;
  Nat66Filtering filtering = Nat66Filtering::address_dependent;
  // Inside ports 1..1023 keep an outside port below 1024 (nf_nat_core's rule), which works only if replies to
  // 1..1023 are queued. When they are not (the gateway's rules leave the host's own services alone), such ports
  // take a port from [port_min, port_max] like any other, so no flow is mapped to a port whose replies are lost.
  // Off by default, as masquerade[].privilegedPorts in the schema (src/gateway-config.ts): the rules queue replies
  // to 1..1023 only when asked to.
  bool keep_privileged_ports = false;
  bool inbound_refresh = true;   // RFC 4787 REQ-6: inbound packets that pass filtering also refresh the timer
  uint32_t max_mappings = 1u << 20;  // RFC 6888 REQ-3: table size limit; new flows beyond it are refused
  // RFC 6888 REQ-4: mappings per inside /64 (one host can use a whole /64), well below the default port range
  // so one host cannot take every port and echo id. The configuration's default lives in the zod schema
  // (src/gateway-config.ts, DEFAULT_MAX_PER_HOST64 in src/masquerade-config.ts, the reason given there); this
  // one, the same figure, serves native callers that build a Nat66Config themselves.
  uint32_t max_per_64 = 2000;
  // Remote addresses (TCP: remote endpoints) one mapping remembers at once for filtering and TCP state; an
  // outbound packet to a further one is refused (drop_nat66_remote_limit). The configuration's default lives in
  // the zod schema (DEFAULT_MAX_REMOTES_PER_MAPPING in src/masquerade-config.ts); this is the same figure.
  uint32_t max_remotes_per_mapping = 1024;
  // Port forwards (nat66_forwards.h): the first set; Nat66Table::set_forwards replaces it while running.
  std::vector<Nat66Forward> forwards;
  uint64_t port_quarantine_ms = 120'000;  // RFC 6888 REQ-8 (draft timer): a freed port stays unused this long
  uint32_t event_capacity = 65536;  // mapping events buffered between drains; 0 disables events
  uint64_t seed = 0;                // random port offsets and hash keys; 0 = from std::random_device
};

// Empty if these source prefixes are well formed (length, no host bits); otherwise why not.
std::string validate_sources(const std::vector<Prefix>& inside);

// Empty if these outside addresses can be masqueraded to with these sources (none multicast, link-local,
// unspecified, loopback, twice, or inside a source); otherwise why not. Used at creation and on every change.
std::string validate_outside(const std::vector<Address>& outside, const std::vector<Prefix>& inside);

// The parameters of a running table that Nat66Table::set_tunables may change (a reload): the fields of
// Nat66Config of the same names.
struct Nat66Tunables {
  uint16_t port_min = 20000;
  uint16_t port_max = 29999;
  Nat66Timeouts timeouts;
  Nat66Filtering filtering = Nat66Filtering::address_dependent;
  bool keep_privileged_ports = false;
  bool inbound_refresh = true;
  uint32_t max_mappings = 1u << 20;
  uint32_t max_per_64 = 2000;
  uint32_t max_remotes_per_mapping = 1024;
};

Nat66Tunables tunables_of(const Nat66Config& c);

// Empty if `t` is usable (port range, timeouts, limits); otherwise a message that names the field and how to fix
// it. The forwards are checked against the range apart (validate_forwards). Used at creation and on every change.
std::string validate_tunables(const Nat66Tunables& t);

// Empty if `c` is usable; otherwise a message that names the field and how to fix it.
std::string validate(const Nat66Config& c);

}  // namespace npt66
