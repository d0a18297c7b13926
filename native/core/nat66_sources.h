// A masquerade table's source prefixes (the inside hosts it masquerades), as one immutable set. The set can be
// replaced while the table runs ("source": "docker" follows Docker's networks, a reload adds or removes
// prefixes): Nat66Table::set_sources swaps in a new one; a queue thread takes the current one once per receive
// batch (Tables::masquerade_sources), so a swap never splits a batch and never waits for a packet thread.
#pragma once
#include <memory>
#include <vector>

#include "ipv6.h"
#include "prefix_map.h"

namespace npt66 {

struct Nat66Sources {
  std::vector<Prefix> prefixes;  // may be empty: a Docker host with no IPv6 network yet masquerades nothing

  // In one of the prefixes (a handful: a scan costs less than a search).
  bool contains(const Address& a) const noexcept;
};

using Nat66SourcesPtr = std::shared_ptr<const Nat66Sources>;

}  // namespace npt66
