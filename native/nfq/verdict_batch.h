// Verdicts for one receive batch, sent with one sendmsg(): one NFQNL_MSG_VERDICT per packet, in the order the
// packets arrived (FIFO per queue: the kernel looks the id up from the head of its list). A translated packet's
// payload is not copied: its iovec points at the receive buffer where it was translated in place.
#pragma once
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace npt66::nfq {

class VerdictBatch {
 public:
  enum class Kind : uint8_t { accept, accept_mangled, drop };
  static constexpr size_t kMaxMessages = 256;

  struct Sent {  // verdicts the kernel took, by kind, and how the send went
    uint32_t accepted = 0;
    uint32_t mangled = 0;
    uint32_t dropped = 0;
    uint32_t failed = 0;   // verdicts that could not be delivered even one by one
    int first_error = 0;   // errno of the first failed sendmsg(), 0 if none failed
  };

  VerdictBatch(uint16_t queue, size_t max_send_bytes) noexcept;

  bool empty() const noexcept { return count_ == 0; }

  // Writes one NFQNL_MSG_VERDICT header at `out` (kMaxHeader bytes available): the message header, the verdict
  // attribute and, for accept_mangled, the NFQA_PAYLOAD attribute's header, whose payload_len bytes follow in
  // the next iovec. Returns the header's length.
  static uint16_t write_header(uint16_t queue, uint32_t packet_id, Kind kind, uint32_t payload_len, uint8_t* out) noexcept;
  // True if adding a verdict with `payload_len` bytes must wait for a flush.
  bool needs_flush_before(size_t payload_len) const noexcept;

  // `payload` (kind accept_mangled only) must stay valid and unchanged until flush().
  void add(uint32_t packet_id, Kind kind, const uint8_t* payload = nullptr, uint32_t payload_len = 0) noexcept;

  // Sends every pending verdict in one sendmsg(). If the kernel refuses the batch, resends message by message,
  // and a payload verdict that still fails is replaced by a plain drop (fail-closed). Always leaves it empty.
  Sent flush(int fd) noexcept;

 private:
  struct Message {
    uint32_t header;       // offset in headers_
    uint16_t header_len;
    Kind kind;
    uint8_t pad;           // bytes after the payload up to the 4-byte netlink alignment
    uint32_t packet_id;
    uint32_t payload_len;
    const uint8_t* payload;
  };
  static constexpr size_t kMaxHeader = 48;  // nlmsghdr + nfgenmsg + verdict attribute + payload attribute header

  size_t append_iov(iovec* iov, size_t n, const Message& m) noexcept;
  bool send_one(int fd, const Message& m) noexcept;


  uint16_t queue_;
  size_t max_bytes_;
  size_t count_ = 0;
  size_t bytes_ = 0;
  size_t header_used_ = 0;
  alignas(8) std::array<uint8_t, kMaxMessages * kMaxHeader> headers_{};
  std::array<Message, kMaxMessages> messages_{};
  std::array<iovec, kMaxMessages * 3> iov_{};
};

}  // namespace npt66::nfq
