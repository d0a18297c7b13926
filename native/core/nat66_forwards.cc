#include "nat66_forwards.h"

#include <algorithm>
#include <tuple>

namespace npt66 {
namespace {

auto port_key(const Nat66Forward& f) noexcept { return std::make_tuple(f.proto, f.port); }
auto inside_key(const Nat66Forward& f) noexcept {
  return std::make_tuple(f.proto, f.inside.high64(), f.inside.low64(), f.inside_port);
}

std::string describe(const Nat66Forward& f) {
  return std::string(to_string(f.proto)) + " port " + std::to_string(f.port);
}

}  // namespace

Nat66Forwards::Nat66Forwards(std::vector<Nat66Forward> forwards) : by_port_(std::move(forwards)) {
  by_inside_ = by_port_;
  std::sort(by_port_.begin(), by_port_.end(),
            [](const Nat66Forward& a, const Nat66Forward& b) { return port_key(a) < port_key(b); });
  std::sort(by_inside_.begin(), by_inside_.end(),
            [](const Nat66Forward& a, const Nat66Forward& b) { return inside_key(a) < inside_key(b); });
}

const Nat66Forward* Nat66Forwards::by_port(Nat66Proto p, uint16_t port) const noexcept {
  Nat66Forward probe;
  probe.proto = p, probe.port = port;
  auto it = std::lower_bound(by_port_.begin(), by_port_.end(), probe,
                             [](const Nat66Forward& a, const Nat66Forward& b) { return port_key(a) < port_key(b); });
  return it != by_port_.end() && it->proto == p && it->port == port ? &*it : nullptr;
}

const Nat66Forward* Nat66Forwards::by_inside(Nat66Proto p, const Address& a, uint16_t port) const noexcept {
  Nat66Forward probe;
  probe.proto = p, probe.inside = a, probe.inside_port = port;
  auto it = std::lower_bound(by_inside_.begin(), by_inside_.end(), probe, [](const Nat66Forward& x, const Nat66Forward& y) {
    return inside_key(x) < inside_key(y);
  });
  return it != by_inside_.end() && inside_key(*it) == inside_key(probe) ? &*it : nullptr;
}

std::string validate_forwards(const std::vector<Nat66Forward>& forwards, uint16_t port_min, uint16_t port_max,
                              bool privileged) {
  for (size_t i = 0; i < forwards.size(); ++i) {
    const Nat66Forward& f = forwards[i];
    const std::string at = "masquerade: forward " + describe(f);
    if (f.proto == Nat66Proto::icmp) return "masquerade: a forward must be tcp or udp";
    if (f.port == 0 || f.inside_port == 0) return at + ": ports must be 1-65535";
    if (f.port >= port_min && f.port <= port_max)
      return at + " lies in the dynamic port range " + std::to_string(port_min) + "-" + std::to_string(port_max) +
             ", where mappings take their ports; pick a port outside it";
    if (privileged && f.port < 1024)
      return at + " is below 1024, where privilegedPorts maps inside ports below 1024; pick a port from 1024 up";
    for (size_t j = 0; j < i; ++j) {
      const Nat66Forward& g = forwards[j];
      if (g.proto == f.proto && g.port == f.port) return at + " is given twice";
      if (g.proto == f.proto && g.inside == f.inside && g.inside_port == f.inside_port)
        return at + " goes to the same inside endpoint as " + describe(g) +
               ": its replies could not tell which port to leave from";
    }
  }
  return {};
}

}  // namespace npt66
