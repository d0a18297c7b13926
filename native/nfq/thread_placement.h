// Where a queue thread runs and how the scheduler treats it: CPU affinity and priority (nice or SCHED_FIFO).
//
// Why it matters (receive livelock, Mogul & Ramakrishnan 1997; REFERENCE s2): the kernel's receive softirq
// runs before any thread on its CPU, and it does all of a packet's work up to the NFQUEUE rule even when the
// queue is full (nfnetlink_queue builds the message before it checks the queue length). A queue thread that
// loses its CPU to that work delivers less the more is offered. bench/README.md has the measurements behind
// the defaults and what each setting does under overload.
#pragma once
#include <string>
#include <vector>

namespace npt66::nfq {

struct ThreadPlacement {
  int cpu = -1;           // the one CPU the thread may run on; -1: wherever the scheduler puts it
  int nice = 0;           // -20..19 (setpriority on the thread); ignored when fifo_priority != 0
  int fifo_priority = 0;  // 1..99: SCHED_FIFO at that priority; 0: normal (SCHED_OTHER) scheduling
};

// The placement of queue thread `index` (0-based) under a CPU list used round-robin (empty: no pinning).
ThreadPlacement placement_for(size_t index, const std::vector<int>& cpus, int nice, int fifo_priority) noexcept;

// Checks a CPU list against the CPUs this process may use; returns a message naming the first bad entry, or
// an empty string.
std::string check_cpus(const std::vector<int>& cpus);

// Applies `p` to the calling thread. Returns an empty string, or what failed (the thread keeps running with
// whatever did apply: a placement is a tuning, never a reason to stop translating).
std::string apply_to_this_thread(const ThreadPlacement& p);

}  // namespace npt66::nfq
