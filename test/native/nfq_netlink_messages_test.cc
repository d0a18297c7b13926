// The queue engine's own netlink encoding and decoding (native/nfq/packet_message, verdict_batch) against
// libnetfilter_queue's: the verdict header must be byte for byte what nfq_nlmsg_put + nfq_nlmsg_verdict_put
// build, and a packet message must read the same as nfq_nlmsg_parse reads it; malformed ones are refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include <cstring>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include "packet_message.h"
#include "verdict_batch.h"

namespace npt66::test {
namespace {

using nfq::PacketMessage;
using nfq::VerdictBatch;

std::vector<uint8_t> library_verdict(uint16_t queue, uint32_t id, int verdict, uint32_t payload_len) {
  alignas(4) char buf[128] = {};
  nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), verdict);
  size_t header = nlh->nlmsg_len;
  if (payload_len != 0) {
    // What nfq_nlmsg_verdict_put_pkt writes before the payload bytes.
    auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_tail(nlh));
    attr->nla_type = NFQA_PAYLOAD;
    attr->nla_len = static_cast<uint16_t>(MNL_ATTR_HDRLEN + payload_len);
    header += MNL_ATTR_HDRLEN;
    nlh->nlmsg_len = static_cast<uint32_t>(header + MNL_ALIGN(payload_len));
  }
  return {reinterpret_cast<uint8_t*>(buf), reinterpret_cast<uint8_t*>(buf) + header};
}

std::vector<uint8_t> ours(uint16_t queue, uint32_t id, VerdictBatch::Kind kind, uint32_t payload_len) {
  uint8_t buf[128] = {};
  uint16_t n = VerdictBatch::write_header(queue, id, kind, payload_len, buf);
  return {buf, buf + n};
}

TEST(VerdictHeader, SameBytesAsLibnetfilterQueue) {
  EXPECT_EQ(ours(3, 0x01020304, VerdictBatch::Kind::accept, 0), library_verdict(3, 0x01020304, NF_ACCEPT, 0));
  EXPECT_EQ(ours(65535, 7, VerdictBatch::Kind::drop, 0), library_verdict(65535, 7, NF_DROP, 0));
  for (uint32_t len : {40u, 61u, 62u, 63u, 64u, 1400u, 65531u})
    EXPECT_EQ(ours(1, 99, VerdictBatch::Kind::accept_mangled, len), library_verdict(1, 99, NF_ACCEPT, len)) << len;
}

// A packet message as the kernel builds one (nfqnl_build_packet_message): the packet header first, then
// metadata, the payload last.
struct MessageBuilder {
  alignas(4) uint8_t buf[512] = {};
  nlmsghdr* nlh;
  MessageBuilder() {
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_INET6;
  }
  MessageBuilder& header(uint32_t id, uint8_t hook) {
    nfqnl_msg_packet_hdr ph{};
    ph.packet_id = htonl(id);
    ph.hw_protocol = htons(0x86dd);
    ph.hook = hook;
    mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof ph, &ph);
    return *this;
  }
  MessageBuilder& u32(uint16_t type, uint32_t v) {
    mnl_attr_put_u32(nlh, type, htonl(v));
    return *this;
  }
  MessageBuilder& payload(const std::vector<uint8_t>& p) {
    mnl_attr_put(nlh, NFQA_PAYLOAD, p.size(), p.data());
    return *this;
  }
};

TEST(PacketMessage, ReadsIdHookPayloadAndCapLenLikeTheLibrary) {
  std::vector<uint8_t> packet(61, 0x60);
  MessageBuilder b;
  b.header(0xabcdef01, NF_INET_POST_ROUTING).u32(NFQA_MARK, 5).u32(NFQA_IFINDEX_OUTDEV, 3).u32(NFQA_CAP_LEN, 1500).payload(packet);
  PacketMessage m;
  ASSERT_EQ(nfq::parse_packet_message(b.nlh, m), PacketMessage::Status::ok);
  EXPECT_EQ(m.packet_id, 0xabcdef01u);
  EXPECT_EQ(m.hook, NF_INET_POST_ROUTING);
  EXPECT_EQ(m.payload_len, 61u);
  EXPECT_EQ(std::memcmp(m.payload, packet.data(), 61), 0);
  EXPECT_EQ(m.cap_len, 1500u);

  nlattr* attr[NFQA_MAX + 1] = {};
  ASSERT_GE(nfq_nlmsg_parse(b.nlh, attr), 0);
  EXPECT_EQ(static_cast<void*>(m.payload), mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
  EXPECT_EQ(m.payload_len, mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
}

TEST(PacketMessage, NoPayloadAndNoCapLen) {
  MessageBuilder b;
  b.header(1, NF_INET_PRE_ROUTING);
  PacketMessage m;
  ASSERT_EQ(nfq::parse_packet_message(b.nlh, m), PacketMessage::Status::ok);
  EXPECT_EQ(m.payload, nullptr);
  EXPECT_EQ(m.cap_len, 0u);
}

TEST(PacketMessage, WithoutAPacketHeaderThereIsNoId) {
  MessageBuilder b;
  b.payload(std::vector<uint8_t>(40, 0x60));
  PacketMessage m;
  EXPECT_EQ(nfq::parse_packet_message(b.nlh, m), PacketMessage::Status::no_header);
}

TEST(PacketMessage, MalformedAttributesAreReportedWithTheIdKnown) {
  {  // an attribute that runs past the end of the message
    MessageBuilder b;
    b.header(42, NF_INET_POST_ROUTING).payload(std::vector<uint8_t>(40, 0x60));
    auto* last = reinterpret_cast<nlattr*>(reinterpret_cast<uint8_t*>(b.nlh) + b.nlh->nlmsg_len - MNL_ALIGN(40) - MNL_ATTR_HDRLEN);
    last->nla_len = 200;
    PacketMessage m;
    EXPECT_EQ(nfq::parse_packet_message(b.nlh, m), PacketMessage::Status::malformed);
    EXPECT_EQ(m.packet_id, 42u);
    // The library's loop stops quietly there (the packet would look payload-less); either way it is dropped.
    nlattr* attr[NFQA_MAX + 1] = {};
    nfq_nlmsg_parse(b.nlh, attr);
    EXPECT_EQ(attr[NFQA_PAYLOAD], nullptr);
  }
  {  // NFQA_CAP_LEN of the wrong size
    MessageBuilder b;
    b.header(43, NF_INET_POST_ROUTING);
    uint16_t two = 0;
    mnl_attr_put(b.nlh, NFQA_CAP_LEN, sizeof two, &two);
    PacketMessage m;
    EXPECT_EQ(nfq::parse_packet_message(b.nlh, m), PacketMessage::Status::malformed);
    nlattr* attr[NFQA_MAX + 1] = {};
    EXPECT_LT(nfq_nlmsg_parse(b.nlh, attr), 0);
  }
  {  // a packet header too short to hold the id
    MessageBuilder b;
    uint32_t short_header = 0;
    mnl_attr_put(b.nlh, NFQA_PACKET_HDR, sizeof short_header, &short_header);
    PacketMessage m;
    EXPECT_EQ(nfq::parse_packet_message(b.nlh, m), PacketMessage::Status::no_header);
  }
}

}  // namespace
}  // namespace npt66::test
