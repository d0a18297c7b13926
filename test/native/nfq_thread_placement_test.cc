// Queue thread placement (native/nfq/thread_placement): CPU lists used round-robin, checked against the CPUs the
// process may use, and applied to the calling thread.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "thread_placement.h"

namespace npt66::test {
namespace {

using nfq::ThreadPlacement;

TEST(ThreadPlacement, CpuListIsUsedRoundRobin) {
  EXPECT_EQ(nfq::placement_for(0, {}, 0, 0).cpu, -1);
  EXPECT_EQ(nfq::placement_for(0, {1, 0}, 0, 0).cpu, 1);
  EXPECT_EQ(nfq::placement_for(1, {1, 0}, 0, 0).cpu, 0);
  EXPECT_EQ(nfq::placement_for(2, {1, 0}, 0, 0).cpu, 1);
  EXPECT_EQ(nfq::placement_for(3, {1}, -5, 0).nice, -5);
  EXPECT_EQ(nfq::placement_for(3, {1}, 0, 7).fifo_priority, 7);
}

TEST(ThreadPlacement, CpusOutsideTheProcessAffinityAreRefused) {
  EXPECT_EQ(nfq::check_cpus({}), "");
  EXPECT_NE(nfq::check_cpus({-1}), "");
  EXPECT_NE(nfq::check_cpus({CPU_SETSIZE}), "");
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c)
    if (CPU_ISSET(c, &allowed)) first = c;
  ASSERT_GE(first, 0);
  EXPECT_EQ(nfq::check_cpus({first}), "");
}

TEST(ThreadPlacement, AppliesToTheCallingThreadOnly) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  int cpu = -1;
  for (int c = CPU_SETSIZE - 1; c >= 0 && cpu < 0; --c)
    if (CPU_ISSET(c, &allowed)) cpu = c;
  std::string failed = "not run";
  cpu_set_t seen;
  int nice_seen = 0;
  std::thread t([&] {
    ThreadPlacement p;
    p.cpu = cpu;
    p.nice = 5;  // raising nice needs no privilege
    failed = nfq::apply_to_this_thread(p);
    CPU_ZERO(&seen);
    sched_getaffinity(0, sizeof seen, &seen);  // 0 = the calling thread
    errno = 0;
    nice_seen = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  });
  t.join();
  EXPECT_EQ(failed, "");
  EXPECT_EQ(CPU_COUNT(&seen), 1);
  EXPECT_TRUE(CPU_ISSET(cpu, &seen));
  EXPECT_EQ(nice_seen, 5);
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  EXPECT_TRUE(CPU_EQUAL(&mine, &allowed));  // this thread was left alone
}

}  // namespace
}  // namespace npt66::test
