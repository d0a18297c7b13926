// Proxy NDP (RFC 4861 s7.2.8): which Neighbor Solicitations npt66 answers on an outside interface for outside
// addresses of its NPTv6 entries, and the Neighbor Advertisement it answers with. Pure: the caller (native/nfq's
// NdpResponder) receives the solicitation, gives the interface's facts, and sends what comes back.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "counters.h"
#include "ipv6.h"
#include "prefix_map.h"

namespace npt66 {

enum class NdpProxyMode : uint8_t {
  neighbours,  // only the outside addresses of inside hosts that are live neighbours now (the embedder's list)
  prefix,      // every address of the outside prefix that the entry translates (RFC 6296 s3.5, s4.2 refusals out)
};

struct NdpProxyEntry {
  PrefixPair pair;  // the nptv6 entry: pair.interface is the outside interface answered on
  NdpProxyMode mode = NdpProxyMode::neighbours;
  std::vector<Address> neighbours;  // mode neighbours: outside addresses to answer for (others are ignored)
};

// One outside interface's entries, compiled: a PrefixTable of their pairs (so the outside prefix is matched and
// the address checked translatable by the same code as the packet path) and, per mapping, its mode and list.
struct NdpProxyInterface {
  std::string name;
  std::shared_ptr<const PrefixTable> table;
  std::vector<NdpProxyMode> modes;                 // by Mapping::index
  std::vector<std::vector<Address>> neighbours;    // by Mapping::index, sorted
};

// Immutable; a change builds a new one (the responder swaps it atomically).
struct NdpProxyPolicy {
  std::vector<NdpProxyInterface> interfaces;  // sorted by name, one per outside interface
  const NdpProxyInterface* find(const std::string& name) const noexcept;
  // Groups `entries` by interface. Null with `error` set when a group's prefixes do not compile.
  static std::shared_ptr<const NdpProxyPolicy> compile(std::vector<NdpProxyEntry> entries, std::string& error);
};

// What the responder knows of the interface the solicitation arrived on, read from the kernel.
struct NdpLink {
  std::array<uint8_t, 6> mac{};      // Target Link-Layer Address option of the answer
  bool has_mac = false;              // a 6-byte link-layer address was found (else nothing to advertise)
  Address link_local;                // source of the answer (RFC 4861 s7.2.4 / s4.4)
  bool has_link_local = false;
  std::vector<Address> own;          // the interface's own addresses: the kernel answers for those, never npt66
};

inline constexpr size_t kNdpAdvertLen = 40 + 32;  // IPv6 header, NA (24) and one TLLA option (8)

// Decides about the IPv6 packet packet[0, len) received on `link` (whose entries are `policy`). Answered: writes
// the Neighbor Advertisement to out[0, kNdpAdvertLen) and returns true (the caller sends it to the solicitation's
// link-layer source and counts ndp_proxy_answered or ndp_proxy_send_failed). Otherwise returns false and counts
// why: ndp_proxy_ignored_dad, ndp_proxy_not_ours, ndp_proxy_invalid, or ndp_proxy_send_failed (no link-local
// source yet, or no 6-byte link-layer address to advertise).
bool ndp_proxy_answer(const NdpProxyInterface& policy, const NdpLink& link, const uint8_t* packet, size_t len,
                      uint8_t* out, CounterBlock& counters) noexcept;

}  // namespace npt66
