#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace npt66::nfq {

namespace {

NotifyResult failed(std::string what) { return {false, std::move(what)}; }

}  // namespace

NotifyResult notify_service_manager(std::string_view socket_address, std::string_view state) {
  if (socket_address.empty()) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socklen_t length;
  if (socket_address[0] == '@') {
    // Abstract namespace: sun_path starts with a NUL and the name is the following bytes, not NUL-terminated.
    if (socket_address.size() < 2 || socket_address.size() > sizeof addr.sun_path) {
      return failed("NOTIFY_SOCKET names an abstract socket of bad length");
    }
    addr.sun_path[0] = '\0';
    std::memcpy(addr.sun_path + 1, socket_address.data() + 1, socket_address.size() - 1);
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_address.size());
  } else if (socket_address[0] == '/') {
    if (socket_address.size() >= sizeof addr.sun_path) return failed("NOTIFY_SOCKET is longer than a unix socket path");
    std::memcpy(addr.sun_path, socket_address.data(), socket_address.size());
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_address.size() + 1);
  } else {
    // systemd also knows vsock: addresses (for virtual machines); npt66 runs on the host it manages.
    return failed("NOTIFY_SOCKET is neither an absolute path nor an abstract socket (@name)");
  }

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(std::string("socket(AF_UNIX, SOCK_DGRAM): ") + std::strerror(errno));
  // MSG_NOSIGNAL: a vanished manager must not kill the daemon with SIGPIPE.
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), length);
  int saved = errno;
  close(fd);
  if (n < 0) return failed("sending to NOTIFY_SOCKET " + std::string(socket_address) + ": " + std::strerror(saved));
  if (static_cast<size_t>(n) != state.size()) return failed("NOTIFY_SOCKET took a partial datagram");
  return {true, {}};
}

NotifyResult notify_service_manager(std::string_view state) {
  const char* address = std::getenv("NOTIFY_SOCKET");
  return notify_service_manager(address ? std::string_view(address) : std::string_view(), state);
}

}  // namespace npt66::nfq
