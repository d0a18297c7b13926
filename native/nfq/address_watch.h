// Kernel notifications of IPv6 address changes: an rtnetlink socket subscribed to RTMGRP_IPV6_IFADDR
// (RTM_NEWADDR / RTM_DELADDR), read by a thread of its own. Used for outside prefixes that follow an interface's
// address (SLAAC, DHCPv6, a delegated prefix): the embedder learns *that* an interface's global addresses changed
// and reads them again; nothing is polled. Plain C++ (libmnl); native/binding/engine.cc hands the notices to JS.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

struct mnl_socket;

namespace npt66::nfq {

class AddressWatch {
 public:
  // On the watch's thread, at most once per interface per batch of kernel messages. `ifindex` 0 with an empty
  // name means "messages were lost (ENOBUFS): read every interface again". Must not block.
  using OnChange = std::function<void(uint32_t ifindex, const std::string& name)>;

  // Subscribes before returning, so a change after the constructor is never missed. Throws std::system_error.
  explicit AddressWatch(OnChange on_change);
  ~AddressWatch();  // stops the thread and closes the socket
  AddressWatch(const AddressWatch&) = delete;
  AddressWatch& operator=(const AddressWatch&) = delete;

 private:
  void run() noexcept;

  OnChange on_change_;
  mnl_socket* socket_ = nullptr;
  int stop_fd_ = -1;  // eventfd: written by the destructor to wake the thread
  std::thread thread_;
};

}  // namespace npt66::nfq
