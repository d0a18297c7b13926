#include "nat66_sources.h"

#include <cstring>

namespace npt66 {
namespace {

bool in_prefix(const Prefix& p, const Address& a) noexcept {
  const int full = p.len / 8;
  if (std::memcmp(p.addr.b.data(), a.b.data(), static_cast<size_t>(full)) != 0) return false;
  if (p.len % 8 == 0) return true;
  const auto m = static_cast<uint8_t>(0xFF << (8 - p.len % 8));
  return (p.addr.b[full] & m) == (a.b[full] & m);
}

}  // namespace

bool Nat66Sources::contains(const Address& a) const noexcept {
  for (const Prefix& p : prefixes)
    if (in_prefix(p, a)) return true;
  return false;
}

}  // namespace npt66
