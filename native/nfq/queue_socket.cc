#include "queue_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <string>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include "queue_error.h"

namespace npt66::nfq {
namespace {

[[noreturn]] void fail(uint16_t queue, const char* syscall, const std::string& what) {
  int err = errno;
  throw QueueError(queue, err, syscall,
                   "queue " + std::to_string(queue) + ": " + what + ": " + std::strerror(err));
}

// SO_RCVBUFFORCE/SO_SNDBUFFORCE pass the limits of net.core.[rw]mem_max (they need CAP_NET_ADMIN, which binding
// a queue needs anyway); fall back to the ordinary option if the forced one is refused.
void size_buffer(int fd, int forced, int ordinary, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, forced, &bytes, sizeof bytes) == 0) return;
  setsockopt(fd, SOL_SOCKET, ordinary, &bytes, sizeof bytes);
}

}  // namespace

QueueSocket::QueueSocket(uint16_t queue, const Config& config) : queue_(queue) {
  nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (nl_ == nullptr) fail(queue, "socket", "cannot open a netfilter netlink socket");
  fd_ = mnl_socket_get_fd(nl_);
  try {
    int bytes = static_cast<int>(config.socket_buffer_bytes);
    size_buffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
    size_buffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
    // ENOBUFS only says the kernel dropped messages to us (counted in the kernel's user_dropped): it must never
    // interrupt the receive loop (REFERENCE s2).
    int one = 1;
    if (mnl_socket_setsockopt(nl_, NETLINK_NO_ENOBUFS, &one, sizeof one) < 0)
      fail(queue, "setsockopt", "cannot set NETLINK_NO_ENOBUFS");
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(config.receive_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>(config.receive_timeout.count() % 1000 * 1000);
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
      fail(queue, "setsockopt", "cannot set SO_RCVTIMEO");
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) fail(queue, "bind", "cannot bind the netlink socket");
    port_id_ = mnl_socket_get_portid(nl_);
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
    // The kernel reports twice the requested size and refuses messages over (sk_sndbuf - 32); keep a margin.
    max_send_bytes_ = sndbuf > 8192 ? static_cast<size_t>(sndbuf) / 2 : 4096;
  } catch (...) {
    mnl_socket_close(nl_);
    throw;
  }
}

QueueSocket::~QueueSocket() {
  if (nl_ != nullptr) mnl_socket_close(nl_);
}

uint32_t QueueSocket::send_request(void* msg) {
  auto* nlh = static_cast<nlmsghdr*>(msg);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = next_seq_++;
  if (next_seq_ == 0) next_seq_ = 1;  // 0 is what verdicts carry
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return 0;
  return nlh->nlmsg_seq;
}

uint32_t QueueSocket::send_bind() {
  alignas(nlmsghdr) char buf[256];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET6, NFQNL_CFG_CMD_BIND);
  return send_request(nlh);
}

uint32_t QueueSocket::send_params(uint32_t queue_max_len, bool fail_open, bool gso) {
  alignas(nlmsghdr) char buf[256];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xFFFF);  // the kernel caps it at 65531
  nfq_nlmsg_cfg_put_qmaxlen(nlh, queue_max_len);
  // Fail-open leaks untranslated (inside) addresses when the queue is full: only on explicit request.
  // F_GSO: super-packets arrive whole, with their checksum state in NFQA_SKB_INFO (checksum_offload.h).
  const uint32_t flags = (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) | (gso ? NFQA_CFG_F_GSO : 0);
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
  return send_request(nlh);
}

uint32_t QueueSocket::send_unbind() {
  alignas(nlmsghdr) char buf[256];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue_);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET6, NFQNL_CFG_CMD_UNBIND);
  return send_request(nlh);
}

int QueueSocket::receive(ReceiveRing& ring, bool wait) noexcept {
  int n = recvmmsg(fd_, ring.msgs, ReceiveRing::kSlots, wait ? MSG_WAITFORONE : MSG_DONTWAIT, nullptr);
  if (n >= 0) return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  return -errno;
}

}  // namespace npt66::nfq
