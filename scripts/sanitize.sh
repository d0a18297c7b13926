#!/usr/bin/env bash
# The C++ tests under sanitizers (the CI's sanitizer tier, run by scripts/test.sh):
#   build-asan/: the core, the queue code and npt66_tests with ASan + UBSan (any UB aborts) and libstdc++'s
#                assertions (bounds-checked operator[] and friends); runs every test.
#   build-tsan/: ThreadSanitizer over the tests that start threads (npt66_concurrency_tests: the NAT66
#                concurrency suite and the shared rate limiter), built alone to keep CI short.
# GCC's sanitizers (libasan, libubsan, libtsan come with g++ on Debian). Build dirs are git-ignored (build-*/).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${NPT66_SANITIZE_JOBS:-2}"
# The tests that run threads against each other: TSan has nothing to say about the single-threaded rest.
tsan_filter='Nat66Concurrency.*:RateLimiter.SharedByThreads*'

build() {  # build DIR TARGET FLAGS...
  local dir="$1" target="$2"; shift 2
  local flags="$*"
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNPT66_BENCH=OFF \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" >/dev/null
  fi
  ninja -C "$dir" -j"$jobs" "$target" >"$dir/ninja.log" 2>&1 || { cat "$dir/ninja.log"; return 1; }
}

start=$(date +%s)
echo "-- ASan + UBSan: build-asan/npt66_tests (all tests)"
build build-asan npt66_tests -fsanitize=address,undefined -fno-sanitize-recover=undefined -D_GLIBCXX_ASSERTIONS -O1 -g \
  -fno-omit-frame-pointer
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build-asan/npt66_tests --gtest_brief=1
echo "-- TSan: build-tsan/npt66_concurrency_tests --gtest_filter=$tsan_filter"
build build-tsan npt66_concurrency_tests -fsanitize=thread -O1 -g
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  build-tsan/npt66_concurrency_tests --gtest_brief=1 --gtest_filter="$tsan_filter"
echo "-- sanitizers passed in $(( $(date +%s) - start )) s"
