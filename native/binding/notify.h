// sdNotify(state: string): {sent, error} — the service manager notification (native/nfq/sd_notify.h).
#pragma once
#include <napi.h>

namespace npt66::binding {

// {sent: true, error: ""} sent; {sent: false, error: ""} no NOTIFY_SOCKET (no service manager to tell);
// {sent: false, error: "..."} why it could not be sent. The daemon logs that; a notification is never fatal.
Napi::Value sd_notify(const Napi::CallbackInfo& info);

}  // namespace npt66::binding
