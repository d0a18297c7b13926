#include "translator.h"

#include "convert.h"
#include "nptv6.h"

namespace npt66::binding {

Napi::Function Translator::Define(Napi::Env env) {
  return DefineClass(env, "Translator",
                     {InstanceMethod<&Translator::MapAddress>("mapAddress"),
                      InstanceMethod<&Translator::Translate>("translate"),
                      InstanceMethod<&Translator::Counters>("counters")});
}

Translator::Translator(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Translator>(info) {
  table_ = to_table(info.Env(), info[0]);
}

// mapAddress(address: Buffer(16), direction) -> {output: Buffer | null, reason: string | null, mapping: number}
Napi::Value Translator::MapAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Address a = to_address(env, info[0], "address");
  Direction d = to_direction(env, info[1]);
  const AddressOutcome o = map_address(*table_, d, a);
  Napi::Object r = Napi::Object::New(env);
  r.Set("mapping", o.mapping == nullptr ? -1 : static_cast<double>(o.mapping->index));
  if (o.reason == Counter::count_) {
    r.Set("output", Napi::Buffer<uint8_t>::Copy(env, a.b.data(), a.b.size()));
    r.Set("reason", env.Null());
  } else {
    r.Set("output", env.Null());
    r.Set("reason", std::string(kCounterInfo[static_cast<size_t>(o.reason)].name));
  }
  return r;
}

// translate(packet: Buffer, direction) -> {action, reason, mapping, pointer, packet: Buffer (a translated copy)}
Napi::Value Translator::Translate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw_error(env, "ERR_NPT66_INVALID_ARG", "packet must be a Buffer");
  auto in = info[0].As<Napi::Buffer<uint8_t>>();
  Direction d = to_direction(env, info[1]);
  auto copy = Napi::Buffer<uint8_t>::Copy(env, in.Data(), in.Length());
  Verdict v = translate_nptv6(*table_, d, copy.Data(), copy.Length(), counters_);
  Napi::Object r = Napi::Object::New(env);
  r.Set("action", action_name(v.action));
  r.Set("reason", std::string(kCounterInfo[static_cast<size_t>(v.reason)].name));
  r.Set("mapping", v.action == Action::not_ours ? -1 : static_cast<double>(v.mapping));
  r.Set("pointer", v.pointer);
  r.Set("packet", copy);
  return r;
}

Napi::Value Translator::Counters(const Napi::CallbackInfo& info) {
  CounterSnapshot s{};
  accumulate(s, counters_);
  return from_counters(info.Env(), s);
}

}  // namespace npt66::binding
