// Value types shared by the NAT66 masquerade table, its packet translation and its consumers (the engine,
// the binding): protocols, mapping states, the per-packet flow, a resolved binding, mapping records and events.
#pragma once
#include <cstdint>

#include "ipv6.h"

namespace npt66 {

// What a mapping's port is: a TCP or UDP port, or an ICMPv6 echo identifier (RFC 5508: the id is the port).
enum class Nat66Proto : uint8_t { tcp, udp, icmp };
inline constexpr int kNat66ProtoCount = 3;

// A mapping's state decides its timer. TCP state follows SYN/FIN/RST (RFC 5382 s5, RFC 7857 s2).
enum class Nat66State : uint8_t { udp, tcp_transitory, tcp_established, icmp };
inline constexpr int kNat66StateCount = 4;

// conntrack -E: NEW, UPDATE, DESTROY; and, per mapping, REMOTE when its inside endpoint sends to a remote
// address (TCP: endpoint) it is not already sending to, LIMIT when it is refused for maxRemotesPerMapping.
enum class Nat66EventType : uint8_t { created, updated, destroyed, remote_added, remote_limit };

constexpr const char* to_string(Nat66Proto p) noexcept {
  return p == Nat66Proto::tcp ? "tcp" : p == Nat66Proto::udp ? "udp" : "icmpv6";
}
constexpr const char* to_string(Nat66State s) noexcept {
  switch (s) {
    case Nat66State::udp: return "udp";
    case Nat66State::tcp_transitory: return "tcp_transitory";
    case Nat66State::tcp_established: return "tcp_established";
    case Nat66State::icmp: return "icmp";
  }
  return "?";
}
constexpr const char* to_string(Nat66EventType t) noexcept {
  switch (t) {
    case Nat66EventType::created: return "NEW";
    case Nat66EventType::updated: return "UPDATE";
    case Nat66EventType::destroyed: return "DESTROY";
    case Nat66EventType::remote_added: return "REMOTE";
    case Nat66EventType::remote_limit: return "LIMIT";
  }
  return "?";
}

// TCP flag bits as they appear in byte 13 of the TCP header.
namespace tcpflag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
}

// The fields of one packet the table needs. For ICMPv6 echo, sport and dport both hold the identifier.
struct Nat66Flow {
  Nat66Proto proto = Nat66Proto::udp;
  Address src, dst;
  uint16_t sport = 0, dport = 0;
  uint8_t tcp_flags = 0;  // TCP only
  uint32_t bytes = 0;     // IPv6 packet length, for the per-mapping byte counters
};

// A live mapping as resolved for one packet.
struct Nat66Binding {
  uint32_t handle = 0;  // stable while the mapping lives; Verdict::mapping carries it
  Nat66Proto proto = Nat66Proto::udp;
  Address inside, outside;
  uint16_t inside_port = 0, outside_port = 0;
};

// A mapping as listed by snapshot() and carried by events. Times are the caller's clock (ms).
struct Nat66MappingRecord {
  Nat66Proto proto = Nat66Proto::udp;
  Nat66State state = Nat66State::udp;
  Address inside, outside, remote;  // remote: the last address the inside endpoint sent to (REMOTE/LIMIT events:
                                    // the remote added or refused)
  uint16_t inside_port = 0, outside_port = 0, remote_port = 0;
  uint32_t remote_count = 0;  // live remotes (addresses; TCP: connections) the mapping accepts packets from
  // snapshot(): this mapping's remotes are [remotes_first, remotes_first + remote_count) of the list it fills.
  uint32_t remotes_first = 0;
  uint64_t created_ms = 0, last_ms = 0, expires_ms = 0;
  uint64_t packets_out = 0, packets_in = 0, bytes_out = 0, bytes_in = 0;
};

struct Nat66MappingEvent {
  Nat66EventType type = Nat66EventType::created;
  uint64_t time_ms = 0;
  Nat66MappingRecord mapping;
};

// Live mappings per state (the timers the table is running).
struct Nat66Counts {
  uint64_t udp = 0, tcp_transitory = 0, tcp_established = 0, icmp = 0;
  uint64_t total() const noexcept { return udp + tcp_transitory + tcp_established + icmp; }
};

}  // namespace npt66
