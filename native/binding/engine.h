// JS class Engine: the queue engine (native/nfq) seen from JS. Converts options and results; holds no logic.
// Every method runs on the JS thread; stop() does its blocking work on a libuv worker thread.
#pragma once
#include <napi.h>

#include <memory>

#include "address_watch.h"
#include "queue_engine.h"

namespace npt66::binding {

class EventDelivery;

// nfq::Options' defaults (and masquerade: Nat66Config's) under the JS option names, exported as
// engineDefaults for the test that the schema's defaults equal them (test/ts/defaults.test.ts).
Napi::Object engine_defaults(Napi::Env env);

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine() override;

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value SetMappings(const Napi::CallbackInfo& info);
  Napi::Value SetOutsideInterfaces(const Napi::CallbackInfo& info);
  Napi::Value SetMasqueradeSources(const Napi::CallbackInfo& info);
  Napi::Value SetMasqueradeForwards(const Napi::CallbackInfo& info);
  Napi::Value SetMasqueradeAddresses(const Napi::CallbackInfo& info);
  Napi::Value SetMasqueradeTunables(const Napi::CallbackInfo& info);
  Napi::Value MasqueradeHoldsPorts(const Napi::CallbackInfo& info);
  Napi::Value WatchAddresses(const Napi::CallbackInfo& info);
  Napi::Value SetProxyNdp(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Mappings(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  static void OnEnvCleanup(void* self);

  std::shared_ptr<EventDelivery> events_;
  std::unique_ptr<nfq::Engine> engine_;
  std::unique_ptr<nfq::AddressWatch> watch_;  // watchAddresses(): until stop()
  napi_env env_;
  bool cleanup_hook_ = false;
};

}  // namespace npt66::binding
