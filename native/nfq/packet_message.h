// The kernel's NFQNL_MSG_PACKET message, read in one pass over its attributes: only what the engine uses
// (packet id and hook, the payload, the original length when the copy was cut short, the offload state and
// the interfaces). libnetfilter_queue's
// nfq_nlmsg_parse validates every attribute through a callback per attribute; this is the same check of
// lengths and bounds without the calls, since it runs once per packet.
#pragma once
#include <cstddef>
#include <cstdint>

struct nlmsghdr;

namespace npt66::nfq {

struct PacketMessage {
  enum class Status : uint8_t {
    ok,
    no_header,  // no (well-formed) NFQA_PACKET_HDR: there is no packet id to give a verdict to
    malformed,  // an attribute overruns the message or has the wrong size; packet_id/hook are valid
  };
  uint32_t packet_id = 0;  // host order
  uint8_t hook = 0;        // NF_INET_*
  uint8_t* payload = nullptr;  // null when the message has no NFQA_PAYLOAD
  uint32_t payload_len = 0;
  uint32_t cap_len = 0;  // NFQA_CAP_LEN (the packet's length before the copy range cut it); 0 when absent
  uint32_t skb_info = 0;  // NFQA_SKB_INFO flags (NFQA_SKB_GSO, NFQA_SKB_CSUMNOTREADY, ...); 0 when absent
  uint32_t indev = 0;     // NFQA_IFINDEX_INDEV (the interface the packet came in on); 0 when absent
  uint32_t outdev = 0;    // NFQA_IFINDEX_OUTDEV; 0 when absent
};

// `nlh` must be a complete netlink message (mnl_nlmsg_ok) of type NFQNL_MSG_PACKET.
PacketMessage::Status parse_packet_message(const nlmsghdr* nlh, PacketMessage& out) noexcept;

}  // namespace npt66::nfq
