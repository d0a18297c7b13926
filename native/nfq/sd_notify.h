// The service manager's notification protocol (sd_notify(3)), without libsystemd: one datagram of
// newline-separated KEY=VALUE assignments ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") to the unix
// socket named by $NOTIFY_SOCKET. Node has no unix datagram sockets, so the daemon sends them through the addon.
#pragma once

#include <string>
#include <string_view>

namespace npt66::nfq {

struct NotifyResult {
  bool sent = false;   // false and no error: there is no service manager to tell (no NOTIFY_SOCKET)
  std::string error;   // why it could not be sent (bad address, socket error), empty otherwise
};

// Sends `state` to `socket_address`: an absolute path, or "@name" for the abstract namespace (as systemd writes
// it in NOTIFY_SOCKET). An empty address means no service manager: nothing is sent and that is no error.
NotifyResult notify_service_manager(std::string_view socket_address, std::string_view state);

// The same to the address in $NOTIFY_SOCKET (unset or empty: nothing to do).
NotifyResult notify_service_manager(std::string_view state);

}  // namespace npt66::nfq
