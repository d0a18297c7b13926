#include "thread_placement.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace npt66::nfq {

ThreadPlacement placement_for(size_t index, const std::vector<int>& cpus, int nice, int fifo_priority) noexcept {
  ThreadPlacement p;
  if (!cpus.empty()) p.cpu = cpus[index % cpus.size()];
  p.nice = nice;
  p.fifo_priority = fifo_priority;
  return p;
}

std::string check_cpus(const std::vector<int>& cpus) {
  if (cpus.empty()) return {};
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return std::string("sched_getaffinity: ") + std::strerror(errno);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
      return "CPU " + std::to_string(cpu) + " is not one this process may run on";
  }
  return {};
}

std::string apply_to_this_thread(const ThreadPlacement& p) {
  std::string failed;
  auto note = [&failed](const std::string& what) { failed += (failed.empty() ? "" : "; ") + what; };
  if (p.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(p.cpu, &set);
    if (int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set); err != 0)
      note("pinning to CPU " + std::to_string(p.cpu) + ": " + std::strerror(err));
  }
  if (p.fifo_priority > 0) {
    sched_param sp{};
    sp.sched_priority = p.fifo_priority;
    if (int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp); err != 0)
      note("SCHED_FIFO priority " + std::to_string(p.fifo_priority) + ": " + std::strerror(err));
  } else if (p.nice != 0) {
    // On Linux, setpriority(PRIO_PROCESS, tid) sets one thread's nice value.
    const auto tid = static_cast<id_t>(syscall(SYS_gettid));
    if (setpriority(PRIO_PROCESS, tid, p.nice) != 0)
      note("nice " + std::to_string(p.nice) + ": " + std::strerror(errno) + " (needs CAP_SYS_NICE; queueNice 0 asks for none)");
  }
  return failed;
}

}  // namespace npt66::nfq
