#include "queue_worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

#include "engine_clock.h"
#include "kernel_queue_stats.h"
#include "packet_message.h"
#include "queue_error.h"

namespace npt66::nfq {
namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

constexpr std::chrono::milliseconds kAckTimeout{2000};
constexpr std::chrono::milliseconds kDrainCap{5000};  // rules left in place must not make stop() hang forever

// The hook the packet was queued from tells its direction (REFERENCE s3): outbound translation runs in
// mangle POSTROUTING (or OUTPUT), inbound in raw PREROUTING (or INPUT).
bool direction_of_hook(uint8_t hook, Direction& d) noexcept {
  switch (hook) {
    case NF_INET_POST_ROUTING:
    case NF_INET_LOCAL_OUT:
      d = Direction::outbound;
      return true;
    case NF_INET_PRE_ROUTING:
    case NF_INET_LOCAL_IN:
      d = Direction::inbound;
      return true;
    default:
      return false;
  }
}

std::string describe_config_error(uint16_t queue, const char* step, int err) {
  std::string m = "queue " + std::to_string(queue) + ": " + step + " failed: " + std::strerror(err);
  // The kernel answers EPERM when another socket owns the queue (EBUSY only if this socket already bound it).
  if (err == EPERM) m += " (another program is bound to this queue, or CAP_NET_ADMIN is missing)";
  if (err == EBUSY) m += " (this queue is already bound)";
  return m;
}

}  // namespace

QueueWorker::QueueWorker(uint16_t queue, const Settings& settings, const TableSlot& table,
                         std::span<const std::unique_ptr<Nat66Table>> masquerade, const OutsideSlot& outside,
                         RateLimiter& icmp_limiter, const EventSink& emit)
    : queue_(queue),
      settings_(settings),
      table_(table),
      outside_(outside),
      masquerade_(masquerade),
      emit_(emit),
      socket_(std::make_unique<QueueSocket>(queue, settings.socket)),
      port_id_(socket_->port_id()),
      ring_(std::make_unique<ReceiveRing>()),
      batch_(std::make_unique<VerdictBatch>(queue, socket_->max_send_bytes())),
      icmp_(icmp_limiter) {}

QueueWorker::~QueueWorker() {
  if (bound_ && !ran_ && socket_) unbind();
}

void QueueWorker::bind() {
  uint32_t seq = socket_->send_bind();
  if (seq == 0) throw QueueError(queue_, errno, "sendmsg", describe_config_error(queue_, "bind request", errno));
  if (int err = wait_for_ack(seq, kAckTimeout); err != 0)
    throw QueueError(queue_, err, "NFQNL_CFG_CMD_BIND", describe_config_error(queue_, "bind", err));
  bound_ = true;
  seq = socket_->send_params(settings_.queue_max_len, settings_.fail_open, settings_.gso);
  if (seq == 0)
    throw QueueError(queue_, errno, "sendmsg", describe_config_error(queue_, "configuration request", errno));
  if (int err = wait_for_ack(seq, kAckTimeout); err != 0)
    throw QueueError(queue_, err, "NFQNL_MSG_CONFIG", describe_config_error(queue_, "configuration", err));
  if (int err = icmp_.open(); err != 0)
    notify(Event::Type::warning,
           std::string("ICMPv6 errors for refused packets are disabled: cannot open a raw socket: ") +
               std::strerror(err));
}

void QueueWorker::request_stop(std::chrono::milliseconds drain) noexcept {
  drain_ms_.store(drain.count(), std::memory_order_relaxed);
  stop_requested_.store(true, std::memory_order_release);
}

void QueueWorker::run() noexcept {
  ran_ = true;
  if (std::string failed = apply_to_this_thread(settings_.placement); !failed.empty())
    notify(Event::Type::warning, "queue " + std::to_string(queue_) + " thread placement: " + failed);
  while (!stop_requested_.load(std::memory_order_acquire)) {
    int n = socket_->receive(*ring_, true);
    if (n > 0) process_ring(n);
    else if (n < 0) on_receive_error(-n);
  }
  drain();
  unbind();
  socket_.reset();
}

void QueueWorker::drain() noexcept {
  const auto quiet = std::chrono::milliseconds(drain_ms_.load(std::memory_order_relaxed));
  const auto start = Clock::now();
  auto last_packet = start;
  // The rules are gone (the caller removes them first); what is still queued arrives within the quiet period.
  while (quiet.count() > 0) {
    int n = socket_->receive(*ring_, true);
    auto now = Clock::now();
    if (n > 0) {
      process_ring(n);
      last_packet = now;
    } else if (n < 0) {
      on_receive_error(-n);
    }
    if (now - last_packet >= quiet || now - start >= quiet + kDrainCap) break;
  }
  for (int n; (n = socket_->receive(*ring_, false)) > 0;) process_ring(n);
}

void QueueWorker::unbind() noexcept {
  if (!bound_) return;
  // What the kernel still holds for us now would be dropped by the unbind: count it (it should be 0).
  uint32_t pending = 0;
  for (const KernelQueueFigures& k : read_kernel_queue_figures())
    if (k.queue == queue_ && k.port_id == port_id_) pending = k.queue_total;
  counters_.add(Counter::queue_unbind_pending, pending);
  uint32_t seq = socket_->send_unbind();
  int err = seq == 0 ? errno : wait_for_ack(seq, kAckTimeout);
  bound_ = false;
  notify(Event::Type::state,
         "queue " + std::to_string(queue_) + " unbound" +
             (err == 0 ? std::string() : std::string(" (unbind: ") + std::strerror(err) + ")") + ", " +
             std::to_string(pending) + " packets left in the kernel queue");
}

int QueueWorker::wait_for_ack(uint32_t seq, std::chrono::milliseconds timeout) noexcept {
  awaited_seq_ = seq;
  ack_received_ = false;
  ack_error_ = 0;
  const auto deadline = Clock::now() + timeout;
  // Packets may already be queued (e.g. a stale rule): they are served like any other while we wait.
  while (!ack_received_ && Clock::now() < deadline) {
    int n = socket_->receive(*ring_, true);
    if (n > 0) process_ring(n);
    else if (n < 0) on_receive_error(-n);
  }
  awaited_seq_ = 0;
  return ack_received_ ? ack_error_ : ETIMEDOUT;
}

void QueueWorker::process_ring(int received) noexcept {
  counters_.add(Counter::queue_receive_batches);
  // One table for the whole batch: a concurrent set_table() takes effect at the next batch. One clock
  // reading too: the masquerade timers have 1 s buckets, a batch takes microseconds.
  std::shared_ptr<const PrefixTable> table = table_.load(std::memory_order_acquire);
  std::shared_ptr<const OutsideIfindexes> outside = outside_.load(std::memory_order_acquire);
  // The source prefixes likewise (a table's set_sources takes effect at the next batch). Sized once: no allocation.
  sources_held_.resize(masquerade_.size());
  sources_view_.resize(masquerade_.size());
  for (size_t i = 0; i < masquerade_.size(); ++i) {
    sources_held_[i] = masquerade_[i]->sources();
    sources_view_[i] = sources_held_[i].get();
  }
  Tables tables{table.get(), masquerade_, monotonic_ms(), *outside, sources_view_};
  for (int i = 0; i < received; ++i)
    process_buffer(ring_->slot(i), ring_->length(i), ring_->truncated(i), tables);
  flush();
}

void QueueWorker::process_buffer(uint8_t* buf, size_t len, bool truncated, const Tables& tables) noexcept {
  if (truncated) {
    on_truncated_message(buf, len);
    return;
  }
  int rem = static_cast<int>(len);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      on_netlink_error(nlh);
    } else if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE &&
               NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET) {
      on_packet(nlh, tables);
    }
  }
}

void QueueWorker::on_packet(const nlmsghdr* nlh, const Tables& tables) noexcept {
  PacketMessage m;
  const PacketMessage::Status status = parse_packet_message(nlh, m);
  if (status == PacketMessage::Status::no_header) {
    counters_.add(Counter::queue_netlink_errors);  // no packet id: there is nothing to give a verdict to
    return;
  }
  const uint32_t id = m.packet_id;
  counters_.add(Counter::queue_received);
  if (status != PacketMessage::Status::ok) return drop(id, Counter::drop_bad_queue_message);
  if (m.payload == nullptr) return drop(id, Counter::drop_no_payload);
  uint8_t* const data = m.payload;
  const uint32_t len = m.payload_len;
  // NFQA_CAP_LEN is the original length when the copy was cut short: a payload verdict would trim the packet.
  if (m.cap_len > len) return drop(id, Counter::drop_capture_truncated);
  Direction d;
  if (!direction_of_hook(m.hook, d)) return drop(id, Counter::drop_unknown_hook);

  // NFQA_SKB_INFO is only sent when a flag is set; with F_GSO off the kernel has finished every checksum.
  const Offload offload{(m.skb_info & NFQA_SKB_GSO) != 0, (m.skb_info & NFQA_SKB_CSUMNOTREADY) != 0};
  const Arrival arrival{m.indev, m.hook == NF_INET_LOCAL_OUT, m.outdev};
  const Handled h = dispatch(tables, d, offload, data, len, counters_, arrival);
  const Verdict& v = h.verdict;
  count_per_table(h, d, len);
  switch (v.action) {
    case Action::translated:
      return add_verdict(id, VerdictBatch::Kind::accept_mangled, data, len);
    case Action::not_ours:
      return add_verdict(id, VerdictBatch::Kind::accept);
    case Action::drop:
      // No outside prefix yet: there is nothing the packet could be translated to, and passing it would send the
      // inside prefix out as it is, which failOpen is not meant to do (it accepts what the engine could not take).
      if (settings_.fail_open && v.reason != Counter::drop_no_outside_prefix) {
        // The core leaves refused packets untouched, so this is the original packet.
        counters_.add(Counter::queue_fail_open_accept);
        return add_verdict(id, VerdictBatch::Kind::accept);
      }
      add_verdict(id, VerdictBatch::Kind::drop);
      icmp_.answer(v, data, len, counters_);  // the verdict says whether and what (verdict.h)
      return;
  }
}

// `len` is the queued packet's length (a GSO super-packet's whole length): the bytes a translation carried.
void QueueWorker::count_per_table(const Handled& h, Direction d, uint32_t len) noexcept {
  const Verdict& v = h.verdict;
  if (v.action == Action::not_ours) return;
  // The translation's direction, not the hook's: a hairpinned packet (queued inbound) is counted outbound.
  const bool out = v.reason == Counter::nat66_hairpin || d == Direction::outbound;
  const MappingCounters::Field f = v.action == Action::drop ? MappingCounters::dropped
                                   : out                    ? MappingCounters::outbound
                                                            : MappingCounters::inbound;
  MappingCounters* table = nullptr;
  uint32_t index = 0;
  if (h.by == Handled::By::nptv6 && (v.action == Action::translated || drop_names_mapping(v))) {
    table = &mappings_;
    index = v.mapping;
  } else if (h.by == Handled::By::masquerade) {
    table = &masquerade_counters_;
    index = h.masquerade;
  } else {
    return;
  }
  table->add(index, f);
  if (v.action == Action::translated) table->add(index, out ? MappingCounters::outbound_bytes : MappingCounters::inbound_bytes, len);
}

void QueueWorker::on_truncated_message(uint8_t* buf, size_t len) noexcept {
  // Cannot happen with ReceiveRing's slot size; if it ever does, find the packet id and drop the packet.
  counters_.add(Counter::queue_netlink_errors);
  constexpr size_t kFirstAttr = NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
  if (len < kFirstAttr + MNL_ATTR_HDRLEN + sizeof(nfqnl_msg_packet_hdr)) return;
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE || NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
    return;
  auto* attr = reinterpret_cast<const nlattr*>(buf + kFirstAttr);
  if ((attr->nla_type & NLA_TYPE_MASK) != NFQA_PACKET_HDR) return;
  auto* ph = reinterpret_cast<const nfqnl_msg_packet_hdr*>(buf + kFirstAttr + MNL_ATTR_HDRLEN);
  counters_.add(Counter::queue_received);
  drop(ntohl(ph->packet_id), Counter::drop_capture_truncated);
}

void QueueWorker::on_netlink_error(const nlmsghdr* nlh) noexcept {
  if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) return;
  const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (awaited_seq_ != 0 && nlh->nlmsg_seq == awaited_seq_) {
    ack_received_ = true;
    ack_error_ = -e->error;
    return;
  }
  if (e->error != 0) counters_.add(Counter::queue_netlink_errors);  // e.g. ENOENT: a verdict for an unknown id
}

void QueueWorker::on_receive_error(int err) noexcept {
  if (err == ENOBUFS) {  // messages were lost (the kernel counts the packets as user_dropped); carry on
    counters_.add(Counter::queue_enobufs);
    return;
  }
  counters_.add(Counter::queue_netlink_errors);
  report_error(std::string("receive failed: ") + std::strerror(err));
  // An error that repeats (it should not) must not turn the loop into a busy spin.
  timespec pause{0, 10'000'000};
  nanosleep(&pause, nullptr);
}

void QueueWorker::drop(uint32_t id, Counter why) noexcept {
  counters_.add(why);
  add_verdict(id, VerdictBatch::Kind::drop);
}

void QueueWorker::add_verdict(uint32_t id, VerdictBatch::Kind kind, const uint8_t* payload, uint32_t len) noexcept {
  if (batch_->needs_flush_before(len)) flush();
  batch_->add(id, kind, payload, len);
}

void QueueWorker::flush() noexcept {
  if (batch_->empty()) return;
  VerdictBatch::Sent s = batch_->flush(socket_->fd());
  counters_.add(Counter::queue_verdict_sends);
  counters_.add(Counter::queue_verdict_accept, s.accepted);
  counters_.add(Counter::queue_verdict_accept_mangled, s.mangled);
  counters_.add(Counter::queue_verdict_drop, s.dropped);
  if (s.first_error != 0) {
    counters_.add(Counter::queue_netlink_errors);
    counters_.add(Counter::queue_verdict_unsent, s.failed);
    report_error(std::string("sending verdicts failed: ") + std::strerror(s.first_error) + "; " +
                 std::to_string(s.failed) + " packets left to the kernel");
  }
}

void QueueWorker::report_error(const std::string& message) noexcept {
  // At most one event a second per queue: errors are counted one by one, reported in summary.
  int64_t now = now_ns();
  if (last_error_report_ns_ != 0 && now - last_error_report_ns_ < 1'000'000'000) {
    ++unreported_errors_;
    return;
  }
  std::string text = "queue " + std::to_string(queue_) + ": " + message;
  if (unreported_errors_ != 0) text += " (" + std::to_string(unreported_errors_) + " more errors since the last report)";
  unreported_errors_ = 0;
  last_error_report_ns_ = now;
  notify(Event::Type::error, std::move(text));
}

void QueueWorker::notify(Event::Type type, std::string message) noexcept {
  try {
    if (emit_) emit_(make_event(type, std::move(message), queue_));
  } catch (...) {
  }
}

}  // namespace npt66::nfq
