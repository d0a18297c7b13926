// libFuzzer target: the queue engine's per-message path without the socket: netlink bytes ->
// parse_packet_message (native/nfq/packet_message.h) -> the checks QueueWorker::on_packet makes -> dispatch
// (native/core/dispatch.h, with the message's checksum-offload flags and input interface; interface 3 is the
// outside one) on an NPTv6 table and a masquerade table built once per process.
// Input: one NFQNL_MSG_PACKET netlink message; its nlmsg_len and type are set from the input's length, so the
// message is always complete (mnl_nlmsg_ok), as the receive loop guarantees. The buffer is exactly the input's
// length on the heap.
// Invariants:
// - every input gets exactly one outcome (no packet id, malformed, no payload, truncated capture, unknown hook,
//   or a verdict), and a payload lies within the message;
// - a packet that is not translated is what arrived (but for the checksum field of a CHECKSUM_PARTIAL packet,
//   which dispatch completes before translating);
// - a translated packet that leaves (outbound, or hairpinned) never carries a source some table calls inside.
#include <arpa/inet.h>  // before the linux/ headers, which would otherwise redefine in_addr
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include <vector>

#include "fuzz_support.h"
#include "fuzz_tables.h"
#include "dispatch.h"
#include "packet_message.h"

using namespace npt66;
using namespace npt66::fuzz;

namespace {

constexpr uint32_t kOutsideIfindex = 3;  // packets that arrive on interface 3 come from outside

enum class Outcome { no_header, malformed, no_payload, capture_truncated, unknown_hook, verdict };

struct Engine {
  std::vector<std::unique_ptr<Nat66Table>> masquerade;
  CounterBlock counters;
  uint64_t now_ms = 1'000'000;
  Engine() { masquerade.push_back(create_or_abort(small_masquerade_config(Nat66Filtering::address_dependent))); }
};

bool claimed_inside(const Engine& e, const Address& a) {
  if (nptv6_table(false).match(a, Direction::outbound) != nullptr) return true;
  for (const auto& t : e.masquerade)
    if (t->is_inside(a)) return true;
  return false;
}

// The same decisions, in the same order, as QueueWorker::on_packet.
Outcome on_packet(Engine& e, const nlmsghdr* nlh, size_t size) {
  nfq::PacketMessage m;
  const auto status = nfq::parse_packet_message(nlh, m);
  if (status == nfq::PacketMessage::Status::no_header) return Outcome::no_header;
  if (status != nfq::PacketMessage::Status::ok) return Outcome::malformed;
  if (m.payload == nullptr) return Outcome::no_payload;
  const auto* base = reinterpret_cast<const uint8_t*>(nlh);
  NPT66_FUZZ_CHECK(m.payload >= base + NLMSG_HDRLEN && m.payload + m.payload_len <= base + size,
                   "payload outside the message");
  if (m.cap_len > m.payload_len) return Outcome::capture_truncated;
  Direction d;
  switch (m.hook) {
    case NF_INET_POST_ROUTING:
    case NF_INET_LOCAL_OUT: d = Direction::outbound; break;
    case NF_INET_PRE_ROUTING:
    case NF_INET_LOCAL_IN: d = Direction::inbound; break;
    default: return Outcome::unknown_hook;
  }
  const Bytes arrived(m.payload, m.payload + m.payload_len);
  const Offload offload{(m.skb_info & NFQA_SKB_GSO) != 0, (m.skb_info & NFQA_SKB_CSUMNOTREADY) != 0};
  static constexpr uint32_t kOutsideIfindexes[] = {kOutsideIfindex};
  const Tables tables{&nptv6_table(false), e.masquerade, e.now_ms, kOutsideIfindexes};
  const Arrival arrival{m.indev, m.hook == NF_INET_LOCAL_OUT};
  const Handled h = dispatch(tables, d, offload, m.payload, m.payload_len, e.counters, arrival);
  const Verdict& v = h.verdict;
  NPT66_FUZZ_CHECK(v.action == Action::translated || v.action == Action::not_ours || v.action == Action::drop,
                   "a verdict outside the three actions");
  if (v.action != Action::translated) {
    Bytes now(m.payload, m.payload + m.payload_len);
    L4Checksum c;
    if (offload.csum_partial && find_l4_checksum(arrived.data(), arrived.size(), c))
      now[c.field] = arrived[c.field], now[c.field + 1] = arrived[c.field + 1];
    NPT66_FUZZ_CHECK(now == arrived, "a packet not translated was modified");
    return Outcome::verdict;
  }
  NPT66_FUZZ_CHECK(h.by != Handled::By::none, "translated by no table");
  const bool leaves = d == Direction::outbound || v.reason == Counter::nat66_hairpin;
  if (leaves && m.payload_len >= ip6::kHeaderLen)
    NPT66_FUZZ_CHECK(!claimed_inside(e, Address::from(m.payload + ip6::kSrcOffset)),
                     "a translated packet leaves with an inside source");
  return Outcome::verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Engine e;
  if (size < NLMSG_HDRLEN || size > 0xFFFF) return 0;
  Bytes buf(data, data + size);
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data());
  nlh->nlmsg_len = static_cast<uint32_t>(size);
  nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
  NPT66_FUZZ_CHECK(mnl_nlmsg_ok(nlh, static_cast<int>(size)), "harness: message not complete");
  const Outcome o = on_packet(e, nlh, size);
  NPT66_FUZZ_CHECK(o >= Outcome::no_header && o <= Outcome::verdict, "no outcome");
  e.now_ms += 1000;
  return 0;
}
