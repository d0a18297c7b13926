// JS class Translator: offline NPTv6 translation of addresses and packets (no queue). JS thread only.
#pragma once
#include <napi.h>

#include <memory>

#include "counters.h"
#include "prefix_map.h"

namespace npt66::binding {

class Translator : public Napi::ObjectWrap<Translator> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Translator(const Napi::CallbackInfo& info);

 private:
  Napi::Value MapAddress(const Napi::CallbackInfo& info);
  Napi::Value Translate(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);

  std::shared_ptr<const PrefixTable> table_;
  CounterBlock counters_;
};

}  // namespace npt66::binding
