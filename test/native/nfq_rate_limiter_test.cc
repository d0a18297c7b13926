// The ICMPv6 error rate limiter (native/nfq/rate_limiter.h): average rate, burst, refill, and 0 = never.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../../native/nfq/rate_limiter.h"

using npt66::nfq::RateLimiter;

namespace {
constexpr int64_t kSecond = 1'000'000'000;
}

TEST(RateLimiter, AdmitsTheBurstThenOnePerInterval) {
  RateLimiter r(100, 10);  // 10 ms interval, burst 10
  int64_t t = 5 * kSecond;
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += r.allow(t);
  EXPECT_EQ(admitted, 10);
  EXPECT_FALSE(r.allow(t + 9'000'000));
  EXPECT_TRUE(r.allow(t + 10'000'000));
  EXPECT_FALSE(r.allow(t + 10'000'000));
}

TEST(RateLimiter, AverageRateOverOneSecond) {
  RateLimiter r(100, 10);
  int64_t t = 5 * kSecond;
  int admitted = 0;
  for (int64_t ns = 0; ns < kSecond; ns += 100'000) admitted += r.allow(t + ns);  // offered 10000/s
  EXPECT_GE(admitted, 100);
  EXPECT_LE(admitted, 110);  // the rate plus the initial burst
}

TEST(RateLimiter, ZeroRateAdmitsNothing) {
  RateLimiter r(0, 10);
  EXPECT_FALSE(r.allow(kSecond));
  EXPECT_FALSE(r.allow(100 * kSecond));
}

TEST(RateLimiter, SharedByThreadsNeverExceedsTheBurst) {
  RateLimiter r(1, 20);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 1000; ++j) admitted += r.allow(7 * kSecond);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 20);
}
