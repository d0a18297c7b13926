#include "verdict_batch.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <sys/socket.h>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace npt66::nfq {
namespace {

constexpr uint8_t kZeros[4] = {};

}  // namespace

bool VerdictBatch::needs_flush_before(size_t payload_len) const noexcept {
  if (count_ == 0) return false;
  return count_ == kMaxMessages || bytes_ + kMaxHeader + payload_len + 4 > max_bytes_;
}

void VerdictBatch::write_drop(uint32_t packet_id, uint8_t* out, uint16_t& len) const noexcept {
  nlmsghdr* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(out), NFQNL_MSG_VERDICT, queue_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(packet_id), NF_DROP);
  len = static_cast<uint16_t>(nlh->nlmsg_len);
}

void VerdictBatch::add(uint32_t packet_id, Kind kind, const uint8_t* payload, uint32_t payload_len) noexcept {
  Message& m = messages_[count_++];
  m.header = static_cast<uint32_t>(header_used_);
  m.kind = kind;
  m.packet_id = packet_id;
  m.payload = kind == Kind::accept_mangled ? payload : nullptr;
  m.payload_len = kind == Kind::accept_mangled ? payload_len : 0;
  m.pad = 0;

  // nfq_nlmsg_put + nfq_nlmsg_verdict_put build the header; the payload attribute's header is written by hand
  // so that the payload itself goes out from where it lies (nfq_nlmsg_verdict_put_pkt would copy it).
  nlmsghdr* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(headers_.data() + header_used_), NFQNL_MSG_VERDICT, queue_);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(packet_id), kind == Kind::drop ? NF_DROP : NF_ACCEPT);
  if (m.payload != nullptr) {
    auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(nlh));
    attr->nla_type = NFQA_PAYLOAD;
    attr->nla_len = static_cast<uint16_t>(MNL_ATTR_HDRLEN + payload_len);
    nlh->nlmsg_len += MNL_ATTR_HDRLEN;
    m.header_len = static_cast<uint16_t>(nlh->nlmsg_len);
    m.pad = static_cast<uint8_t>(MNL_ALIGN(payload_len) - payload_len);
    nlh->nlmsg_len += MNL_ALIGN(payload_len);  // the next message must start 4-byte aligned
  } else {
    m.header_len = static_cast<uint16_t>(nlh->nlmsg_len);
  }
  header_used_ += MNL_ALIGN(m.header_len);
  bytes_ += nlh->nlmsg_len;
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
        write_drop(m.packet_id, headers_.data() + m.header, drop.header_len);
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
