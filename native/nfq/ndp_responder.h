// npt66's own proxy NDP responder: one thread, one AF_PACKET socket per outside interface that has proxy entries,
// answering Neighbor Solicitations as native/core/ndp_proxy decides. Used instead of the kernel's proxy
// (proxy_ndp=1 plus `ip -6 neigh add proxy`), which answers DAD probes, knows single addresses only and leaves its
// entries behind when npt66 is killed: everything here is held by the sockets, and goes with the process.
// Plain C++; the queue engine (queue_engine.h) owns it while an entry asks for proxy NDP.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "counters.h"
#include "engine_event.h"
#include "ndp_proxy.h"

namespace npt66::nfq {

class NdpResponder {
 public:
  // Starts the thread. Throws std::system_error when its eventfd cannot be made. `emit` gets warnings (an
  // interface missing, a socket that cannot be opened) on the responder's thread.
  explicit NdpResponder(EventSink emit);
  ~NdpResponder();  // wakes and joins the thread, closes every socket (the ALLMULTI memberships go with them)
  NdpResponder(const NdpResponder&) = delete;
  NdpResponder& operator=(const NdpResponder&) = delete;

  // Any thread: the entries in force from the next solicitation on (sockets opened and closed to match soon
  // after). Interfaces are looked up again about once a second, so one created later is picked up.
  void set_policy(std::shared_ptr<const NdpProxyPolicy> policy);

  void add_counters(CounterSnapshot& into) const noexcept { accumulate(into, counters_); }

 private:
  struct Link {
    uint32_t ifindex = 0;
    int fd = -1;
    NdpLink facts;
  };
  void run() noexcept;
  void reconcile(const NdpProxyPolicy& policy) noexcept;  // sockets <-> policy interfaces, link facts refreshed
  void receive(const std::string& name, Link& link, const NdpProxyPolicy& policy) noexcept;
  int open_socket(const std::string& name, uint32_t ifindex) noexcept;  // -1 after a warning
  void warn_once(const std::string& key, const std::string& message);

  EventSink emit_;
  std::atomic<std::shared_ptr<const NdpProxyPolicy>> policy_;
  int wake_fd_ = -1;  // eventfd: a new policy, or stop
  std::atomic<bool> stop_{false};
  alignas(64) CounterBlock counters_;
  std::map<std::string, Link> links_;  // responder thread only
  std::set<std::string> warned_;       // responder thread only: one warning per problem until it clears
  std::thread thread_;
};

}  // namespace npt66::nfq
