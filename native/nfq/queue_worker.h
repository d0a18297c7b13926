// One netfilter queue and the thread that serves it: receive a batch, translate each packet in place, send all
// verdicts of the batch in one sendmsg(). Every packet gets exactly one verdict and every path is counted.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "counters.h"
#include "engine_event.h"
#include "icmp_responder.h"
#include "mapping_counters.h"
#include "outside_interfaces.h"
#include "dispatch.h"
#include "queue_socket.h"
#include "rate_limiter.h"
#include "receive_ring.h"
#include "table_slot.h"
#include "thread_placement.h"
#include "verdict_batch.h"

struct nlmsghdr;

namespace npt66::nfq {

class QueueWorker {
 public:
  // No defaults here: Engine::start copies each field from nfq::Options (queue_engine.h), where they live.
  struct Settings {
    uint32_t queue_max_len = 0;
    bool fail_open = false;
    bool gso = false;  // NFQA_CFG_F_GSO
    QueueSocket::Config socket;
    ThreadPlacement placement;  // applied by run() to its own thread
  };

  // Opens the socket (throws QueueError). Nothing is bound yet.
  QueueWorker(uint16_t queue, const Settings& settings, const TableSlot& table,
              std::span<const std::unique_ptr<Nat66Table>> masquerade, const OutsideSlot& outside,
              RateLimiter& icmp_limiter, const EventSink& emit);
  // If the thread never ran, unbinds a bound queue; then closes the socket.
  ~QueueWorker();
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  // Caller's thread, before run(): binds the queue and sets COPY_PACKET, the maximum length and the flags.
  // Throws QueueError (the destructor then unbinds).
  void bind();

  // The thread body. Returns after a stop request, once the queue has been quiet for the drain period, every
  // received packet has its verdict, and the queue is unbound.
  void run() noexcept;
  void request_stop(std::chrono::milliseconds drain) noexcept;

  uint16_t queue() const noexcept { return queue_; }
  uint32_t port_id() const noexcept { return port_id_; }
  const CounterBlock& counters() const noexcept { return counters_; }
  const MappingCounters& mapping_counters() const noexcept { return mappings_; }
  // Per masquerade table (by index): packets translated out, in, and dropped.
  const MappingCounters& masquerade_counters() const noexcept { return masquerade_counters_; }

 private:
  void process_ring(int received) noexcept;
  void process_buffer(uint8_t* buf, size_t len, bool truncated, const Tables& tables) noexcept;
  void on_packet(const nlmsghdr* nlh, const Tables& tables) noexcept;
  void count_per_table(const Handled& h, Direction d, uint32_t len) noexcept;
  void on_truncated_message(uint8_t* buf, size_t len) noexcept;
  void on_netlink_error(const nlmsghdr* nlh) noexcept;
  void on_receive_error(int err) noexcept;
  void add_verdict(uint32_t id, VerdictBatch::Kind kind, const uint8_t* payload = nullptr, uint32_t len = 0) noexcept;
  void drop(uint32_t id, Counter why) noexcept;
  void flush() noexcept;
  void drain() noexcept;
  void unbind() noexcept;
  // Receives (serving packets) until the ACK for `seq` arrives; returns its errno (0 = success) or ETIMEDOUT.
  int wait_for_ack(uint32_t seq, std::chrono::milliseconds timeout) noexcept;
  void report_error(const std::string& message) noexcept;
  void notify(Event::Type type, std::string message) noexcept;

  const uint16_t queue_;
  const Settings settings_;
  const TableSlot& table_;
  const OutsideSlot& outside_;
  const std::span<const std::unique_ptr<Nat66Table>> masquerade_;
  // Each masquerade table's source set, taken once per batch (Tables::masquerade_sources): the owners and the view.
  std::vector<Nat66SourcesPtr> sources_held_;
  std::vector<const Nat66Sources*> sources_view_;
  const EventSink& emit_;
  std::unique_ptr<QueueSocket> socket_;
  uint32_t port_id_ = 0;
  bool bound_ = false;
  bool ran_ = false;

  std::unique_ptr<ReceiveRing> ring_;
  std::unique_ptr<VerdictBatch> batch_;
  IcmpResponder icmp_;
  alignas(64) CounterBlock counters_;
  MappingCounters mappings_;
  MappingCounters masquerade_counters_;

  std::atomic<bool> stop_requested_{false};
  std::atomic<int64_t> drain_ms_{200};

  uint32_t awaited_seq_ = 0;  // a configuration request whose ACK we are waiting for
  bool ack_received_ = false;
  int ack_error_ = 0;
  int64_t last_error_report_ns_ = 0;
  uint64_t unreported_errors_ = 0;
};

}  // namespace npt66::nfq
