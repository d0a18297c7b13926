// The remotes of one masquerade mapping: which remote addresses (and, for TCP, which remote endpoints) its
// inside endpoint has sent to, each with its own deadline, for exact address-dependent filtering (RFC 4787
// REQ-8, RFC 5382 REQ-3) and TCP state per connection (RFC 5382 s5, RFC 7857 s2.2).
//
// A mapping keeps its first remotes in slots inside its table entry (nat66_table.cc: the common case of one to
// four remotes costs no extra memory access); the rest go to a Nat66RemoteTable of its own, allocated when the
// inline slots are full. Not thread-safe: the owning shard's lock guards both.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ipv6.h"
#include "nat66_types.h"

namespace npt66 {

// One remote of a mapping: 32 bytes. Key: the address, plus the port for TCP (one connection each); UDP and
// ICMPv6 echo filter by address only (port: the last one sent to, for display).
struct Nat66Remote {
  Address addr;
  uint64_t expires_ms = 0;  // 0: an empty slot; <= now: expired (no longer lets packets in; reusable)
  uint16_t port = 0;
  uint8_t tcp = 0;          // TCP tracking bits of this connection (nat66_table.cc)
  Nat66State state = Nat66State::udp;
  bool empty() const noexcept { return expires_ms == 0; }
  bool live(uint64_t now_ms) const noexcept { return expires_ms > now_ms; }
};
static_assert(sizeof(Nat66Remote) == 32);

// Open-addressing hash set of Nat66Remote (linear probing on a keyed hash of the address alone, so every
// connection to one address lies in one probe run; load <= 1/2; backward-shift deletion). Grows by doubling;
// sweep() drops expired remotes.
class Nat66RemoteTable {
 public:
  // hash keys: random per masquerade table, so inside hosts cannot aim remotes at one probe run.
  Nat66RemoteTable(uint64_t key0, uint64_t key1) noexcept : key0_(key0), key1_(key1) {}
  ~Nat66RemoteTable();
  Nat66RemoteTable(const Nat66RemoteTable&) = delete;
  Nat66RemoteTable& operator=(const Nat66RemoteTable&) = delete;

  // The remote with this address (and port, when match_port), expired or not; null if none.
  Nat66Remote* find(const Address& a, uint16_t port, bool match_port) noexcept;
  // Any live remote with this address (address-dependent filtering); null if none.
  const Nat66Remote* find_live(const Address& a, uint64_t now_ms) const noexcept;

  // Adds a remote not present yet (see find); may throw std::bad_alloc, leaving the set unchanged.
  Nat66Remote* insert(const Nat66Remote& r);

  // Removes every remote whose deadline is <= now_ms; returns how many. Free when none can have expired yet.
  size_t sweep(uint64_t now_ms) noexcept;
  // A remote's deadline was moved earlier (a TCP connection closing): sweep() must not skip it.
  void deadline_lowered(uint64_t ms) noexcept { earliest_ = ms < earliest_ ? ms : earliest_; }

  size_t size() const noexcept { return count_; }  // stored, expired ones included
  size_t live(uint64_t now_ms) const noexcept;
  size_t bytes() const noexcept { return sizeof *this + capacity_ * sizeof(Nat66Remote); }

  template <class F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i)
      if (!slots_[i].empty()) f(slots_[i]);
  }
  template <class F>
  void for_each_mut(F&& f) noexcept {
    for (size_t i = 0; i < capacity_; ++i)
      if (!slots_[i].empty()) f(slots_[i]);
  }

 private:
  size_t home(const Address& a) const noexcept;
  void place(const Nat66Remote& r) noexcept;  // no growth, no duplicate check
  void erase_at(size_t i) noexcept;

  Nat66Remote* slots_ = nullptr;
  size_t capacity_ = 0;  // 0 or a power of two
  size_t count_ = 0;
  uint64_t earliest_ = UINT64_MAX;  // no remote's deadline is earlier (deadlines only move later, or are reported)
  uint64_t key0_, key1_;
};

}  // namespace npt66
