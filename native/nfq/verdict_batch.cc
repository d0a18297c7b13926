#include "verdict_batch.h"

#include <arpa/inet.h>  // before the linux/ headers: glibc's netinet/in.h must come first
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace npt66::nfq {
namespace {

constexpr uint8_t kZeros[4] = {};

// One NFQNL_MSG_VERDICT as the kernel reads it (what nfq_nlmsg_put + nfq_nlmsg_verdict_put build), written
// from a template with two stores instead of a chain of library calls per packet. `payload` is the header of
// the NFQA_PAYLOAD attribute, present only in a verdict with a payload.
struct VerdictMessage {
  nlmsghdr nlh;
  nfgenmsg nfg;
  nlattr verdict_attr;
  nfqnl_msg_verdict_hdr verdict;
  nlattr payload;
};
static_assert(sizeof(VerdictMessage) == 36 && offsetof(VerdictMessage, verdict) == NLMSG_HDRLEN + 4 + NLA_HDRLEN);
constexpr uint16_t kWithoutPayload = offsetof(VerdictMessage, payload);

}  // namespace

VerdictBatch::VerdictBatch(uint16_t queue, size_t max_send_bytes) noexcept : queue_(queue), max_bytes_(max_send_bytes) {
  static_assert(sizeof(VerdictMessage) <= kMaxHeader);
}

uint16_t VerdictBatch::write_header(uint16_t queue, uint32_t packet_id, Kind kind, uint32_t payload_len,
                                    uint8_t* out) noexcept {
  VerdictMessage m{};
  m.nlh.nlmsg_len = kWithoutPayload;
  m.nlh.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT);
  m.nlh.nlmsg_flags = NLM_F_REQUEST;
  m.nfg.nfgen_family = AF_UNSPEC;
  m.nfg.version = NFNETLINK_V0;
  m.nfg.res_id = htons(queue);
  m.verdict_attr.nla_len = NLA_HDRLEN + sizeof(nfqnl_msg_verdict_hdr);
  m.verdict_attr.nla_type = NFQA_VERDICT_HDR;
  m.verdict.verdict = htonl(kind == Kind::drop ? NF_DROP : NF_ACCEPT);
  m.verdict.id = htonl(packet_id);
  if (kind == Kind::accept_mangled) {
    m.payload.nla_len = static_cast<uint16_t>(NLA_HDRLEN + payload_len);
    m.payload.nla_type = NFQA_PAYLOAD;
    m.nlh.nlmsg_len = sizeof(VerdictMessage) + NLA_ALIGN(payload_len);  // the next message starts 4-byte aligned
    std::memcpy(out, &m, sizeof m);
    return sizeof m;
  }
  std::memcpy(out, &m, kWithoutPayload);
  return kWithoutPayload;
}

bool VerdictBatch::needs_flush_before(size_t payload_len) const noexcept {
  if (count_ == 0) return false;
  return count_ == kMaxMessages || bytes_ + kMaxHeader + payload_len + 4 > max_bytes_;
}

void VerdictBatch::add(uint32_t packet_id, Kind kind, const uint8_t* payload, uint32_t payload_len) noexcept {
  Message& m = messages_[count_++];
  m.header = static_cast<uint32_t>(header_used_);
  m.kind = kind;
  m.packet_id = packet_id;
  m.payload = kind == Kind::accept_mangled ? payload : nullptr;
  m.payload_len = m.payload != nullptr ? payload_len : 0;
  // The payload itself goes out from where it lies (nfq_nlmsg_verdict_put_pkt would copy it); the header says
  // how long it is and the message is padded to the netlink alignment.
  const Kind wire = kind == Kind::accept_mangled && payload == nullptr ? Kind::accept : kind;
  m.header_len = write_header(queue_, packet_id, wire, m.payload_len, headers_.data() + header_used_);
  m.pad = m.payload != nullptr ? static_cast<uint8_t>(NLA_ALIGN(payload_len) - payload_len) : 0;
  header_used_ += NLA_ALIGN(m.header_len);
  bytes_ += m.header_len + m.payload_len + m.pad;
}

size_t VerdictBatch::append_iov(iovec* iov, size_t n, const Message& m) noexcept {
  uint8_t* h = headers_.data() + m.header;
  // Header-only messages lie back to back in headers_: extend the previous iovec instead of adding one.
  if (n > 0 && static_cast<uint8_t*>(iov[n - 1].iov_base) + iov[n - 1].iov_len == h) {
    iov[n - 1].iov_len += m.header_len;
  } else {
    iov[n++] = {h, m.header_len};
  }
  if (m.payload != nullptr) {
    iov[n++] = {const_cast<uint8_t*>(m.payload), m.payload_len};
    if (m.pad != 0) iov[n++] = {const_cast<uint8_t*>(kZeros), m.pad};
  }
  return n;
}

bool VerdictBatch::send_one(int fd, const Message& m) noexcept {
  iovec iov[3];
  size_t n = append_iov(iov, 0, m);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  return sendmsg(fd, &msg, 0) >= 0;
}

VerdictBatch::Sent VerdictBatch::flush(int fd) noexcept {
  Sent sent;
  if (count_ == 0) return sent;
  size_t n = 0;
  for (size_t i = 0; i < count_; ++i) n = append_iov(iov_.data(), n, messages_[i]);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov_.data();
  msg.msg_iovlen = n;

  auto tally = [&sent](Kind k) {
    if (k == Kind::accept) ++sent.accepted;
    else if (k == Kind::accept_mangled) ++sent.mangled;
    else ++sent.dropped;
  };
  if (sendmsg(fd, &msg, 0) >= 0) {
    for (size_t i = 0; i < count_; ++i) tally(messages_[i].kind);
  } else {
    sent.first_error = errno;
    // One by one, so one bad message cannot take the others' verdicts with it; a payload that cannot be
    // delivered is dropped rather than left queued or accepted untranslated.
    for (size_t i = 0; i < count_; ++i) {
      Message m = messages_[i];
      if (send_one(fd, m)) {
        tally(m.kind);
        continue;
      }
      if (m.kind == Kind::accept_mangled) {
        Message drop = m;
        drop.kind = Kind::drop;
        drop.payload = nullptr;
        drop.payload_len = 0;
        drop.pad = 0;
        drop.header_len = write_header(queue_, m.packet_id, Kind::drop, 0, headers_.data() + m.header);
        if (send_one(fd, drop)) {
          tally(Kind::drop);
          continue;
        }
      }
      ++sent.failed;
    }
  }
  count_ = 0;
  bytes_ = 0;
  header_used_ = 0;
  return sent;
}

}  // namespace npt66::nfq
