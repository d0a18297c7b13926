#include "packet_message.h"

#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <cstring>

namespace npt66::nfq {
namespace {

// A big-endian u32 attribute; false when its length is wrong.
bool read_u32(const uint8_t* value, uint32_t len, uint32_t& out) noexcept {
  if (len != sizeof(uint32_t)) return false;
  uint32_t v;
  std::memcpy(&v, value, sizeof v);
  out = ntohl(v);
  return true;
}

}  // namespace

PacketMessage::Status parse_packet_message(const nlmsghdr* nlh, PacketMessage& out) noexcept {
  out = PacketMessage{};
  auto* const base = reinterpret_cast<uint8_t*>(const_cast<nlmsghdr*>(nlh));
  const size_t end = nlh->nlmsg_len;
  size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  bool have_header = false;
  bool malformed = false;
  while (at + NLA_HDRLEN <= end) {
    nlattr a;
    std::memcpy(&a, base + at, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > end - at) {
      malformed = true;
      break;
    }
    uint8_t* value = base + at + NLA_HDRLEN;
    const uint32_t len = a.nla_len - NLA_HDRLEN;
    switch (a.nla_type & NLA_TYPE_MASK) {
      case NFQA_PACKET_HDR: {
        if (len < sizeof(nfqnl_msg_packet_hdr)) {
          malformed = true;
          break;
        }
        nfqnl_msg_packet_hdr ph;
        std::memcpy(&ph, value, sizeof ph);
        out.packet_id = ntohl(ph.packet_id);
        out.hook = ph.hook;
        have_header = true;
        break;
      }
      case NFQA_PAYLOAD:
        out.payload = value;
        out.payload_len = len;
        break;
      case NFQA_CAP_LEN:
        malformed |= !read_u32(value, len, out.cap_len);
        break;
      case NFQA_SKB_INFO:
        malformed |= !read_u32(value, len, out.skb_info);
        break;
      case NFQA_IFINDEX_INDEV:
        malformed |= !read_u32(value, len, out.indev);
        break;
      case NFQA_IFINDEX_OUTDEV:
        malformed |= !read_u32(value, len, out.outdev);
        break;
      default:
        break;  // metadata the engine does not use (interfaces, hardware address, timestamp, ...)
    }
    at += NLA_ALIGN(a.nla_len);
  }
  if (!have_header) return PacketMessage::Status::no_header;
  return malformed ? PacketMessage::Status::malformed : PacketMessage::Status::ok;
}

}  // namespace npt66::nfq
