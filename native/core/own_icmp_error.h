// The gateway's own ICMPv6 errors about packets it translated inbound (REFERENCE s6).
//
// A packet translated in raw PREROUTING that the gateway then cannot forward (hop limit exhausted, larger than the
// inside link's MTU, no route) is answered by the gateway's kernel itself, from its own address, quoting the packet
// as it is *after* translation: the quoted destination is the inside address (and, for masquerade, the inside
// port). The sender cannot match such an error to its flow (RFC 4443 s2.4(c) quotes what it sent), so Path MTU
// discovery black-holes, and the inside address leaks. The rules queue these errors in mangle OUTPUT (LOCAL_OUT)
// when they leave by an outside interface; this puts the quoted packet back the way the sender sent it.
// The outer header is the gateway's own and stays as it is.
//
// The quoted destination decides:
//   in an NPTv6 inside prefix -> mapped to the outside prefix (RFC 6296 s3.2). Checksum-neutral: the ICMPv6
//     checksum, which covers the quote, stays valid untouched.
//   in a masquerade table's source prefixes -> the quoted destination address and port (or echo id) of a live
//     mapping's inside endpoint become its outside address and port, the quoted TCP/UDP checksum updated when the
//     quote holds it, the ICMPv6 checksum recomputed (RFC 5508 s4; nat66_unmap_quoted_destination).
//   neither -> an error about the gateway's own traffic or about packets it never translated: passes untouched.
// An inside quoted destination that cannot be mapped back (no live mapping, an untranslatable address) is dropped
// (drop_own_icmp_error_unmapped): never let an inside address out. Drops carry no ICMPv6 answer (pointer 0:
// RFC 4443 s2.4(e), no error about an error).
#pragma once
#include <cstddef>
#include <cstdint>

#include "counters.h"
#include "dispatch.h"

namespace npt66 {

// Translates the gateway's own ICMPv6 error at data[0, len) in place (the dispatch has decided it is one: queued
// at LOCAL_OUT, outer source in no inside prefix). A packet that is not an ICMPv6 error passes untouched.
Handled translate_own_icmp_error(const Tables& tables, uint8_t* data, size_t len, CounterBlock& counters) noexcept;

}  // namespace npt66
