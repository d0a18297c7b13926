// The NAT66 table's private layout, shared by its translation units (nat66_table.cc: creation, lookups and
// per-packet updates; nat66_expiry.cc: the timer wheel and housekeeping). Not part of the table's interface:
// include it from those files only.
#pragma once
#include <array>
#include <bit>
#include <cstdint>
#include <vector>

#include "nat66_index.h"
#include "nat66_memory.h"
#include "nat66_remotes.h"
#include "nat66_spinlock.h"
#include "nat66_table.h"

namespace npt66::nat66_layout {

// Handles are shard << kSlotBits | slot: 16 shards x 16 M slots = kNat66MaxMappings. Sixteen shards keep lock
// collisions rare for a handful of queue threads while letting each shard's arrays grow big enough for huge pages.
inline constexpr int kShardBits = 4;
inline constexpr size_t kShards = size_t{1} << kShardBits;
inline constexpr int kSlotBits = 24;
inline constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
static_assert((uint64_t{kShards} << kSlotBits) == kNat66MaxMappings);

// Entries live in chunks that double in size (1024, 2048, ... entries) and never move: a small table stays
// small, a big one gets chunks of megabytes on huge pages.
inline constexpr uint32_t kChunkBase = 1024;
inline constexpr int kMaxChunks = 15;  // kChunkBase * (2^15 - 1) >= 2^kSlotBits
static_assert(uint64_t{kChunkBase} * ((1u << kMaxChunks) - 1) >= (uint64_t{1} << kSlotBits));
inline constexpr int chunk_of(uint32_t slot) noexcept { return std::bit_width(slot / kChunkBase + 1) - 1; }
inline constexpr uint32_t chunk_first(int k) noexcept { return kChunkBase * ((1u << k) - 1); }

// Timer wheel: one bucket per second, 4096 buckets (68 min). A deadline further away sits in the last bucket
// of the lap and is looked at again when that bucket comes round (the 2 h 4 min TCP timer does this once).
inline constexpr uint64_t kWheel = 4096;

// Remotes kept in the entry itself (the rest in a Nat66RemoteTable): one connection per mapping is the common
// case, a few (a resolver with two upstreams, happy eyeballs) next; four fill the entry's last two cache lines.
inline constexpr int kNearRemotes = 4;

// At most one LIMIT event per table in this long (each refusal is counted; the event says that it happens).
inline constexpr uint64_t kRemoteLimitEventIntervalMs = 10'000;

// TCP tracking bits (Nat66Remote::tcp), per connection.
inline constexpr uint8_t kSeenOut = 1, kSeenIn = 2, kFinOut = 4, kFinIn = 8, kReset = 16;

}  // namespace npt66::nat66_layout

namespace npt66 {
using namespace nat66_layout;  // private header: the table's own files only

struct alignas(64) Nat66Table::Entry {
  // First cache line: everything a lookup, the key check and the timer wheel read.
  Address inside;
  uint64_t expires_ms = 0;                  // the latest of its remotes' deadlines
  uint64_t wheel_tick = 0;                  // the second whose bucket holds this entry
  uint32_t wheel_prev = 0, wheel_next = 0;  // slot + 1, 0 = none
  Nat66RemoteTable* far = nullptr;          // remotes beyond near[], owned; null until needed
  uint16_t inside_port = 0, outside_port = 0, remote_port = 0;  // remote_port: the last one sent to
  uint16_t pool = 0;  // index into config.outside
  Nat66Proto proto = Nat66Proto::udp;
  Nat66State state = Nat66State::udp;  // TCP: established while any connection is
  bool live = false;
  // Per-packet bookkeeping.
  uint64_t created_ms = 0, last_ms = 0;
  uint64_t packets_out = 0, packets_in = 0, bytes_out = 0, bytes_in = 0;
  Address last_remote;  // the last remote address sent to (records and events)
  // Third and fourth lines: the first remotes, filled front to back (an empty one ends the list); an expired
  // one stays until it is reused.
  Nat66Remote near[kNearRemotes];
};


struct alignas(64) Nat66Table::Shard {
  mutable Nat66Spinlock lock;
  Nat66Index index;  // inside key -> slot
  std::array<Nat66Buffer<Entry>, kMaxChunks> chunks;
  uint32_t high_water = 0;  // slots [0, high_water) exist
  std::vector<uint32_t> free_slots;
  std::vector<uint32_t> wheel = std::vector<uint32_t>(kWheel, 0);  // bucket heads, slot + 1
  uint64_t cursor = 0;      // first second whose bucket has not been fully processed
  bool cursor_set = false;  // set by the first mapping in this shard
  uint64_t rng = 0;

  Entry& at(uint32_t slot) const noexcept {
    int k = chunk_of(slot);
    return chunks[static_cast<size_t>(k)][slot - chunk_first(k)];
  }
};

}  // namespace npt66
