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

}  // namespace npt66::nfq
