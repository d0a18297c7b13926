#include "convert.h"

namespace npt66::binding {

void throw_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

Address to_address(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsBuffer() || v.As<Napi::Buffer<uint8_t>>().Length() != 16)
    throw_error(env, "ERR_NPT66_INVALID_ARG", std::string(what) + " must be a 16-byte Buffer");
  return Address::from(v.As<Napi::Buffer<uint8_t>>().Data());
}

Direction to_direction(Napi::Env env, const Napi::Value& v) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "outbound") return Direction::outbound;
  if (s == "inbound") return Direction::inbound;
  throw_error(env, "ERR_NPT66_INVALID_ARG", "direction must be 'outbound' or 'inbound'");
}

uint8_t to_prefix_length(Napi::Env env, const Napi::Value& v, const char* what) {
  const double n = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 0 && n <= 128) || n != static_cast<double>(static_cast<int>(n)))
    throw_error(env, "ERR_NPT66_INVALID_ARG", std::string(what) + " must be an integer 0..128");
  return static_cast<uint8_t>(n);
}

std::shared_ptr<const PrefixTable> to_table(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw_error(env, "ERR_NPT66_INVALID_ARG", "mappings must be an array");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<PrefixPair> pairs;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value item = a.Get(i);
    if (!item.IsObject()) throw_error(env, "ERR_NPT66_INVALID_ARG", "each mapping must be an object");
    Napi::Object o = item.As<Napi::Object>();
    PrefixPair p;
    p.inside.addr = to_address(env, o.Get("inside"), "inside");
    p.no_outside = o.Get("noOutside").ToBoolean().Value();
    if (!p.no_outside) p.outside.addr = to_address(env, o.Get("outside"), "outside");
    if (Napi::Value name = o.Get("interface"); name.IsString()) p.interface = name.As<Napi::String>().Utf8Value();
    p.inside.len = to_prefix_length(env, o.Get("insideLength"), "insideLength");
    p.outside.len = p.no_outside ? 0 : to_prefix_length(env, o.Get("outsideLength"), "outsideLength");
    pairs.push_back(p);
  }
  std::string error;
  auto table = PrefixTable::compile(pairs, error);
  if (!table) throw_error(env, "ERR_NPT66_CONFIG", error);
  return table;
}

Napi::Object from_counters(Napi::Env env, const CounterSnapshot& s) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < kCounterCount; ++i)
    o.Set(std::string(kCounterInfo[i].name), Napi::Number::New(env, static_cast<double>(s[i])));
  return o;
}

Napi::Array counter_descriptions(Napi::Env env) {
  Napi::Array a = Napi::Array::New(env, kCounterCount);
  for (size_t i = 0; i < kCounterCount; ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", std::string(kCounterInfo[i].name));
    o.Set("kind", kCounterInfo[i].is_drop ? "drop" : "event");
    o.Set("help", std::string(kCounterInfo[i].help));
    a.Set(i, o);
  }
  return a;
}

const char* action_name(Action a) {
  switch (a) {
    case Action::translated: return "translated";
    case Action::not_ours: return "not-ours";
    case Action::drop: return "drop";
  }
  return "drop";
}

}  // namespace npt66::binding
