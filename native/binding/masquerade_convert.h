// JS <-> core conversions for NAT66 masquerade: NativeMasquerade options -> Nat66Config, mapping records and
// events -> JS objects (src/native.ts: NativeMasquerade, NativeMappingRecord). Runs on the JS thread only.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "nat66_config.h"
#include "nat66_remotes.h"
#include "nat66_types.h"

namespace npt66::binding {

// undefined -> no masquerade; otherwise an array of NativeMasquerade. Throws ERR_NPT66_CONFIG naming the field
// (masquerade[i].field) for a missing, mistyped or out-of-range value, or one the core's validation refuses.
std::vector<Nat66Config> to_masquerade(Napi::Env env, const Napi::Value& v);
// One NativeMasquerade, errors naming `field` (as masquerade[i] above).
Nat66Config to_masquerade_entry(Napi::Env env, const Napi::Value& v, const std::string& field);

// An array of {prefix: 16-byte Buffer, length} (NativeMasquerade.sources; may be empty). Throws ERR_NPT66_CONFIG
// naming `field`.
std::vector<Prefix> to_masquerade_sources(Napi::Env env, const Napi::Value& v, const std::string& field);

// An array of 16-byte Buffers (NativeMasquerade.addresses; may be empty). Throws ERR_NPT66_CONFIG naming `field`.
std::vector<Address> to_masquerade_addresses(Napi::Env env, const Napi::Value& v, const std::string& field);

// An array of {protocol: 'tcp'|'udp', port, inside: 16-byte Buffer, insidePort} (NativeMasquerade.forwards).
// Throws ERR_NPT66_CONFIG naming `field`; the ranges and clashes are checked by the core (validate_forwards).
std::vector<Nat66Forward> to_masquerade_forwards(Napi::Env env, const Napi::Value& v, const std::string& field);

// Nat66Config's defaults as a NativeMasquerade-shaped object (no sources, no addresses), for the test that the
// schema's defaults equal them (test/ts/defaults.test.ts).
Napi::Object masquerade_defaults(Napi::Env env);
// A record whose times are already Unix epoch milliseconds; with `remotes` (that mapping's, times converted
// too), a "remotes" list of {address, port, state (TCP), expires}.
Napi::Object from_mapping_record(Napi::Env env, uint32_t masquerade, const Nat66MappingRecord& r,
                                 const std::vector<Nat66Remote>* remotes = nullptr);

// One line in the manner of `conntrack -E`, for logs that only read `message`.
std::string describe_mapping_event(Nat66EventType type, const Nat66MappingRecord& r);

}  // namespace npt66::binding
