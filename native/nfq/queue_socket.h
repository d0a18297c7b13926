// One NETLINK_NETFILTER socket bound to one netfilter queue: configuration messages (libnetfilter_queue's
// nfq_nlmsg_* helpers over libmnl) and batched receive. Verdicts are sent by VerdictBatch on fd().
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "receive_ring.h"

struct mnl_socket;

namespace npt66::nfq {

class QueueSocket {
 public:
  struct Config {
    uint32_t socket_buffer_bytes = 0;  // 1..INT_MAX; no default here: nfq::Options holds it (queue_engine.h)
    std::chrono::milliseconds receive_timeout{50};  // how often a blocked receive notices a stop request
  };

  // Opens the socket, sizes its buffers (SO_RCVBUFFORCE/SO_SNDBUFFORCE), sets NETLINK_NO_ENOBUFS and the
  // receive timeout, binds it. Throws QueueError. Does not bind the queue yet (see send_bind).
  QueueSocket(uint16_t queue, const Config& config);
  ~QueueSocket();
  QueueSocket(const QueueSocket&) = delete;
  QueueSocket& operator=(const QueueSocket&) = delete;

  int fd() const noexcept { return fd_; }
  uint32_t port_id() const noexcept { return port_id_; }
  uint16_t queue() const noexcept { return queue_; }
  // What one sendmsg() may carry: the kernel refuses a message larger than the send buffer.
  size_t max_send_bytes() const noexcept { return max_send_bytes_; }

  // Configuration requests, each with NLM_F_ACK; they return the sequence number the ACK will carry,
  // or 0 with errno set if sending failed.
  uint32_t send_bind();
  // COPY_PACKET with the full range, the queue's maximum length, the fail-open flag and NFQA_CFG_F_GSO (when
  // off the kernel segments super-packets and completes checksums before queueing, REFERENCE s2).
  uint32_t send_params(uint32_t queue_max_len, bool fail_open, bool gso);
  uint32_t send_unbind();

  // recvmmsg(): blocks up to the receive timeout for the first message, then takes whatever else is
  // waiting without blocking. Returns the number of messages, 0 on timeout or EINTR, -errno on error.
  int receive(ReceiveRing& ring, bool wait) noexcept;

 private:
  uint32_t send_request(void* nlh);  // adds NLM_F_ACK and a sequence number, sends

  uint16_t queue_;
  mnl_socket* nl_ = nullptr;
  int fd_ = -1;
  uint32_t port_id_ = 0;
  uint32_t next_seq_ = 1;
  size_t max_send_bytes_ = 0;
};

}  // namespace npt66::nfq
