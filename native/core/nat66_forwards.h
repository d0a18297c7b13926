// A masquerade table's port forwards ("forwards" in a masquerade entry, later Docker's published ports): inbound
// TCP/UDP to an outside address and a forward's port goes to a fixed inside address+port with the remote's own
// address as the source (stateless DNAT), and what that inside endpoint sends goes out from the outside address
// and the forward's port (stateless SNAT). No mapping is made: forward ports lie outside the dynamic range (the
// configuration refuses any other), so they never meet a mapping's port.
// Like the source set (nat66_sources.h), one immutable set swapped whole (Nat66Table::set_forwards).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ipv6.h"
#include "nat66_types.h"

namespace npt66 {

struct Nat66Forward {
  Nat66Proto proto = Nat66Proto::tcp;  // tcp or udp
  uint16_t port = 0;                   // on the outside address(es)
  Address inside;                      // where it goes
  uint16_t inside_port = 0;
};

class Nat66Forwards {
 public:
  Nat66Forwards() = default;
  // Sorted for the lookups below; validate_forwards() first.
  explicit Nat66Forwards(std::vector<Nat66Forward> forwards);

  bool empty() const noexcept { return by_port_.empty(); }
  size_t size() const noexcept { return by_port_.size(); }
  const std::vector<Nat66Forward>& all() const noexcept { return by_port_; }
  // The forward an inbound packet to outside `port` takes, or null.
  const Nat66Forward* by_port(Nat66Proto p, uint16_t port) const noexcept;
  // The forward whose inside endpoint sent a packet from `a`/`port`, or null.
  const Nat66Forward* by_inside(Nat66Proto p, const Address& a, uint16_t port) const noexcept;

 private:
  std::vector<Nat66Forward> by_port_;    // sorted by (proto, port)
  std::vector<Nat66Forward> by_inside_;  // sorted by (proto, inside, inside_port)
};

using Nat66ForwardsPtr = std::shared_ptr<const Nat66Forwards>;

// Empty if `forwards` can serve a table with outside ports [port_min, port_max] (and 1..1023 too when
// `privileged` keeps inside ports below 1024 there); otherwise why not, naming the forward.
// Refused: a protocol other than TCP/UDP, port 0, a port in the dynamic range, two forwards on one port, two
// on one inside endpoint (its replies could not tell which port to leave from).
std::string validate_forwards(const std::vector<Nat66Forward>& forwards, uint16_t port_min, uint16_t port_max,
                              bool privileged);

}  // namespace npt66
