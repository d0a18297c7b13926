#include "kernel_queue_stats.h"

#include <fstream>
#include <sstream>

namespace npt66::nfq {

std::vector<KernelQueueFigures> parse_kernel_queue_figures(const std::string& text) {
  std::vector<KernelQueueFigures> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    KernelQueueFigures k;
    if (f >> k.queue >> k.port_id >> k.queue_total >> k.copy_mode >> k.copy_range >> k.queue_dropped >>
        k.user_dropped >> k.id_sequence)
      out.push_back(k);
  }
  return out;
}

std::vector<KernelQueueFigures> read_kernel_queue_figures() {
  std::ifstream in("/proc/net/netfilter/nfnetlink_queue");
  if (!in) return {};
  std::stringstream s;
  s << in.rdbuf();
  return parse_kernel_queue_figures(s.str());
}

}  // namespace npt66::nfq
