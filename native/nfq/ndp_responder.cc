#include "ndp_responder.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <system_error>
#include <vector>

namespace npt66::nfq {

namespace {

// Classic BPF on the network header (SOCK_DGRAM): ICMPv6 right after the IPv6 header, type 135 (Neighbor
// Solicitation). Everything else stays in the kernel; solicitations behind extension headers are not answered.
sock_filter kSolicitationFilter[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),  // Next Header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMPV6, 0, 3),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40),  // ICMPv6 type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 135, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xFFFF),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

}  // namespace

NdpResponder::NdpResponder(EventSink emit) : emit_(std::move(emit)) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "npt66-ndp");
}

NdpResponder::~NdpResponder() {
  stop_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
  }  // cannot fail on an eventfd below its maximum
  if (thread_.joinable()) thread_.join();
  for (auto& [name, link] : links_)
    if (link.fd >= 0) close(link.fd);
  close(wake_fd_);
}

void NdpResponder::set_policy(std::shared_ptr<const NdpProxyPolicy> policy) {
  policy_.store(std::move(policy), std::memory_order_release);
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
  }
}

void NdpResponder::warn_once(const std::string& key, const std::string& message) {
  if (!warned_.insert(key).second) return;
  try {
    emit_(make_event(Event::Type::warning, message));
  } catch (...) {
  }
}

int NdpResponder::open_socket(const std::string& name, uint32_t ifindex) noexcept {
  // Protocol 0 until bound: nothing is queued before the filter is in place.
  const int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  auto fail = [&](const char* what) {
    const int e = errno;
    if (fd >= 0) close(fd);
    warn_once("open " + name, "proxy NDP: cannot answer on " + name + ": " + what + ": " + errno_text(e));
    return -1;
  };
  if (fd < 0) return fail("packet socket");
  sock_fprog prog{static_cast<unsigned short>(sizeof kSolicitationFilter / sizeof kSolicitationFilter[0]), kSolicitationFilter};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) return fail("SO_ATTACH_FILTER");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_IPV6);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&sll), sizeof sll) < 0) return fail("bind");
  // Solicited-node groups of proxied targets are joined by nobody on this host: on a NIC that filters
  // multicast they would never arrive. ALLMULTI is counted per socket and dropped when the socket closes.
  packet_mreq mr{};
  mr.mr_ifindex = static_cast<int>(ifindex);
  mr.mr_type = PACKET_MR_ALLMULTI;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) return fail("PACKET_MR_ALLMULTI");
  warned_.erase("open " + name);
  return fd;
}

void NdpResponder::reconcile(const NdpProxyPolicy& policy) noexcept {
  try {
    std::map<std::string, Link> next;
    for (const NdpProxyInterface& i : policy.interfaces) {
      const uint32_t ifindex = if_nametoindex(i.name.c_str());
      if (ifindex == 0) {
        warn_once("missing " + i.name, "proxy NDP: interface " + i.name + " does not exist (yet): nothing answered there");
        continue;
      }
      warned_.erase("missing " + i.name);
      Link link;
      auto old = links_.find(i.name);
      if (old != links_.end() && old->second.ifindex == ifindex && old->second.fd >= 0) {
        link = old->second;
        old->second.fd = -1;  // moved
      } else {
        link.ifindex = ifindex;
        link.fd = open_socket(i.name, ifindex);
      }
      link.facts = NdpLink{};
      next.emplace(i.name, link);
    }
    for (auto& [name, link] : links_)
      if (link.fd >= 0) close(link.fd);
    links_ = std::move(next);
    // The link facts: MAC, link-local source, the interface's own addresses (answered by the kernel, never here).
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return;
    for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr) continue;
      auto it = links_.find(a->ifa_name);
      if (it == links_.end()) continue;
      NdpLink& f = it->second.facts;
      if (a->ifa_addr->sa_family == AF_PACKET) {
        const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
        if (ll->sll_halen == 6) {
          std::memcpy(f.mac.data(), ll->sll_addr, 6);
          f.has_mac = true;
        }
      } else if (a->ifa_addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
        const Address addr = Address::from(in6->sin6_addr.s6_addr);
        f.own.push_back(addr);
        if (!f.has_link_local && addr.b[0] == 0xfe && (addr.b[1] & 0xc0) == 0x80) {
          f.link_local = addr;
          f.has_link_local = true;
        }
      }
    }
    freeifaddrs(list);
  } catch (...) {  // out of memory: the next pass tries again
  }
}

void NdpResponder::receive(const std::string& name, Link& link, const NdpProxyPolicy& policy) noexcept {
  const NdpProxyInterface* entries = policy.find(name);
  uint8_t buf[2048];
  uint8_t answer[kNdpAdvertLen];
  for (int budget = 64; budget > 0; --budget) {  // then poll again: every socket gets its turn
    sockaddr_ll from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = recvfrom(link.fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;  // EAGAIN: drained (an error on a packet socket is not worth more than waiting)
    // Only what arrived for this host (its address, multicast, broadcast); never our own frames going out.
    if (from.sll_pkttype != PACKET_HOST && from.sll_pkttype != PACKET_MULTICAST && from.sll_pkttype != PACKET_BROADCAST)
      continue;
    if (entries == nullptr || from.sll_halen != 6 || static_cast<size_t>(n) > sizeof buf) continue;
    // A group as the link-layer source (a forged frame): the answer would go to every node of the segment.
    if (from.sll_addr[0] & 1) {
      counters_.add(Counter::ndp_proxy_invalid);
      continue;
    }
    if (!ndp_proxy_answer(*entries, link.facts, buf, static_cast<size_t>(n), answer, counters_)) continue;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_IPV6);
    to.sll_ifindex = static_cast<int>(link.ifindex);
    to.sll_halen = 6;
    std::memcpy(to.sll_addr, from.sll_addr, 6);  // the solicitation's link-layer source: no resolution needed
    const ssize_t sent = sendto(link.fd, answer, sizeof answer, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    counters_.add(sent == static_cast<ssize_t>(sizeof answer) ? Counter::ndp_proxy_answered : Counter::ndp_proxy_send_failed);
  }
}

void NdpResponder::run() noexcept {
  std::shared_ptr<const NdpProxyPolicy> policy;
  std::vector<pollfd> fds;
  std::vector<std::string> names;
  auto last_refresh = std::chrono::steady_clock::time_point{};
  while (!stop_.load(std::memory_order_acquire)) {
    std::shared_ptr<const NdpProxyPolicy> now = policy_.load(std::memory_order_acquire);
    const auto t = std::chrono::steady_clock::now();
    if (now != policy || t - last_refresh >= std::chrono::seconds(1)) {
      policy = now;
      last_refresh = t;
      reconcile(policy ? *policy : NdpProxyPolicy{});
      fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
      names.clear();
      for (auto& [name, link] : links_) {
        if (link.fd < 0) continue;
        fds.push_back(pollfd{link.fd, POLLIN, 0});
        names.push_back(name);
      }
    }
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      // ENOMEM and the like: wait and go on (ending the thread would end proxy NDP without a trace).
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (fds[0].revents != 0) {
      uint64_t v;
      if (read(wake_fd_, &v, sizeof v) < 0) {
      }
    }
    for (size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents != 0) receive(names[i - 1], links_[names[i - 1]], *policy);
  }
}

}  // namespace npt66::nfq
