#include "outside_interfaces.h"

#include <net/if.h>

#include <algorithm>

namespace npt66::nfq {

ResolvedInterfaces resolve_interfaces(const std::vector<std::string>& names) {
  ResolvedInterfaces r;
  for (const std::string& name : names) {
    if (unsigned index = if_nametoindex(name.c_str()); index != 0) r.ifindexes.push_back(index);
    else r.missing.push_back(name);
  }
  std::sort(r.ifindexes.begin(), r.ifindexes.end());
  r.ifindexes.erase(std::unique(r.ifindexes.begin(), r.ifindexes.end()), r.ifindexes.end());
  return r;
}

std::shared_ptr<const PrefixTable> with_resolved_outdevs(std::shared_ptr<const PrefixTable> table) {
  if (!table) return table;
  const auto& mappings = table->mappings();
  const bool uplinks = std::any_of(mappings.begin(), mappings.end(), [](const Mapping& m) { return m.next_uplink != UINT32_MAX; });
  if (!uplinks) return table;
  std::vector<PrefixPair> pairs;
  bool changed = false;
  for (const Mapping& m : mappings) {
    PrefixPair p = m.pair;
    p.outdev = p.interface.empty() ? 0 : if_nametoindex(p.interface.c_str());
    changed |= p.outdev != m.outdev;
    pairs.push_back(std::move(p));
  }
  if (!changed) return table;
  std::string error;
  std::shared_ptr<const PrefixTable> resolved = PrefixTable::compile(pairs, error);
  return resolved ? resolved : table;  // the same pairs compiled once already: cannot fail
}

}  // namespace npt66::nfq
