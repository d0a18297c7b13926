// Module entry: registers the classes and the counter list. The binding converts; it holds no logic.
#include <napi.h>

#include "convert.h"
#include "engine.h"
#include "notify.h"
#include "translator.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Translator", npt66::binding::Translator::Define(env));
  exports.Set("Engine", npt66::binding::Engine::Define(env));
  exports.Set("counterDescriptions", npt66::binding::counter_descriptions(env));
  exports.Set("engineDefaults", npt66::binding::engine_defaults(env));
  exports.Set("sdNotify", Napi::Function::New(env, npt66::binding::sd_notify, "sdNotify"));
  return exports;
}

}  // namespace

NODE_API_MODULE(npt66, Init)
