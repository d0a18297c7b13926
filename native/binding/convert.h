// JS <-> core conversions shared by the binding's classes. Runs on the JS thread only.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "counters.h"
#include "prefix_map.h"
#include "verdict.h"

namespace npt66::binding {

// Throws a JS Error whose `code` is stable (ERR_NPT66_...), for TypeScript to test against.
[[noreturn]] void throw_error(Napi::Env env, const char* code, const std::string& message);

Address to_address(Napi::Env env, const Napi::Value& v, const char* what);
// A prefix length 0..128 (ERR_NPT66_INVALID_ARG otherwise: a cast would wrap 300 to 44).
uint8_t to_prefix_length(Napi::Env env, const Napi::Value& v, const char* what);
Direction to_direction(Napi::Env env, const Napi::Value& v);
// [{inside: Buffer(16), insideLength, outside: Buffer(16), outsideLength}, ...] -> compiled table (throws).
std::shared_ptr<const PrefixTable> to_table(Napi::Env env, const Napi::Value& v);
Napi::Object from_counters(Napi::Env env, const CounterSnapshot& s);
Napi::Array counter_descriptions(Napi::Env env);
const char* action_name(Action a);

}  // namespace npt66::binding
