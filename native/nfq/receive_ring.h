// Receive buffers for one queue: many netlink messages (one queued packet each) per recvmmsg() call.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace npt66::nfq {

struct ReceiveRing {
  static constexpr size_t kSlots = 64;
  // The largest packet message: a 65531-byte payload (NFQNL_MAX_COPY_RANGE) plus every metadata attribute.
  static constexpr size_t kSlotBytes = 65536 + 8192;

  ReceiveRing() : memory(new uint8_t[kSlots * kSlotBytes]) {  // not zeroed: pages are touched only when used
    for (size_t i = 0; i < kSlots; ++i) {
      iov[i] = {memory.get() + i * kSlotBytes, kSlotBytes};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  ReceiveRing(const ReceiveRing&) = delete;
  ReceiveRing& operator=(const ReceiveRing&) = delete;

  uint8_t* slot(size_t i) noexcept { return memory.get() + i * kSlotBytes; }
  size_t length(size_t i) const noexcept { return msgs[i].msg_len; }
  bool truncated(size_t i) const noexcept { return (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

  std::unique_ptr<uint8_t[]> memory;
  iovec iov[kSlots];
  mmsghdr msgs[kSlots];
};

}  // namespace npt66::nfq
