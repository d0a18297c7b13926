#include "address_watch.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <system_error>
#include <vector>

namespace npt66::nfq {

AddressWatch::AddressWatch(OnChange on_change) : on_change_(std::move(on_change)) {
  socket_ = mnl_socket_open(NETLINK_ROUTE);
  if (socket_ == nullptr) throw std::system_error(errno, std::generic_category(), "rtnetlink socket");
  if (mnl_socket_bind(socket_, RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    mnl_socket_close(socket_);
    throw std::system_error(e, std::generic_category(), "bind rtnetlink to RTMGRP_IPV6_IFADDR");
  }
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    const int e = errno;
    mnl_socket_close(socket_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "npt66-rtnl");
}

AddressWatch::~AddressWatch() {
  const uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) {
  }  // cannot fail on an eventfd below its maximum
  if (thread_.joinable()) thread_.join();
  close(stop_fd_);
  mnl_socket_close(socket_);
}

void AddressWatch::run() noexcept {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  pollfd fds[2] = {{mnl_socket_get_fd(socket_), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    std::set<uint32_t> changed;
    bool lost = false;
    // Everything the socket holds now: a prefix change is several messages (new address, old one deleted,
    // DAD finished), handed over as one notice per interface.
    for (;;) {
      const ssize_t n = recv(mnl_socket_get_fd(socket_), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == ENOBUFS) lost = true;  // the kernel dropped notifications: read everything again
        if (errno == EINTR || errno == ENOBUFS) continue;
        break;  // EAGAIN: drained
      }
      int left = static_cast<int>(n);
      for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
        if (h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) continue;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(h));
        if (ifa->ifa_family == AF_INET6 && ifa->ifa_scope == RT_SCOPE_UNIVERSE) changed.insert(ifa->ifa_index);
      }
    }
    try {
      if (lost) on_change_(0, std::string());
      for (uint32_t index : changed) {
        char name[IF_NAMESIZE] = {};
        on_change_(index, if_indextoname(index, name) != nullptr ? std::string(name) : std::string());
      }
    } catch (...) {  // out of memory: the next change notifies again
    }
  }
}

}  // namespace npt66::nfq
