#include "notify.h"

#include "convert.h"
#include "sd_notify.h"

namespace npt66::binding {

Napi::Value sd_notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) throw_error(env, "ERR_NPT66_INVALID_ARG", "sdNotify takes one string of KEY=VALUE lines");
  auto result = nfq::notify_service_manager(info[0].As<Napi::String>().Utf8Value());
  auto out = Napi::Object::New(env);
  out.Set("sent", Napi::Boolean::New(env, result.sent));
  out.Set("error", Napi::String::New(env, result.error));
  return out;
}

}  // namespace npt66::binding
