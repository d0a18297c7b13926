// The kernel's own figures per queue, from /proc/net/netfilter/nfnetlink_queue (seq_show in
// net/netfilter/nfnetlink_queue.c): queue, portid, total, copy mode, copy range, dropped, user dropped, id seq.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace npt66::nfq {

struct KernelQueueFigures {
  uint32_t queue = 0;
  uint32_t port_id = 0;
  uint32_t queue_total = 0;    // packets waiting for a verdict right now
  uint32_t copy_mode = 0;      // 0 none, 1 meta, 2 packet
  uint32_t copy_range = 0;
  uint32_t queue_dropped = 0;  // dropped because the queue was full (queue max length)
  uint32_t user_dropped = 0;   // dropped because the netlink socket buffer was full
  uint32_t id_sequence = 0;    // last packet id handed out
};

// Parses the file's text; lines that do not parse are skipped.
std::vector<KernelQueueFigures> parse_kernel_queue_figures(const std::string& text);

// Reads the file of the calling thread's network namespace; empty if it cannot be read.
std::vector<KernelQueueFigures> read_kernel_queue_figures();

}  // namespace npt66::nfq
