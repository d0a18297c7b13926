#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz/*_fuzz.cc) with clang in build-fuzz/ and runs each in turn, at nice 19,
# for an even share of --minutes; prints per target the executions, exec/s, coverage (libFuzzer's cov/ft) and
# the crashes found. New inputs go to build-fuzz/corpus-<target>/ (not committed); the committed seeds in
# test/fuzz/corpus/<target>/ are read only. Crashing inputs are saved as build-fuzz/artifacts-<target>/crash-*.
#
#   npm run fuzz -- --minutes N [--only TARGET] [--seeds]
#   --seeds  rewrite the committed seed corpora (test/fuzz/write_seeds.cc) before fuzzing
# Fuzzing is not part of CI (the tests tier runs the sanitizers instead: scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
only=""
seeds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --seeds) seeds=1; shift ;;
    *) echo "fuzz: unknown argument $1 (use --minutes N, --only TARGET, --seeds)" >&2; exit 2 ;;
  esac
done

# clang with libFuzzer (Debian: clang pulls in libclang-rt-14-dev, which holds libclang_rt.fuzzer).
if ! command -v clang++ >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "fuzz: clang is missing; as root: apt-get install clang" >&2; exit 1; fi
  echo "fuzz: installing clang"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null; }
fi

build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNPT66_FUZZ=ON \
    -DNPT66_TESTS=OFF -DNPT66_BENCH=OFF >/dev/null
fi
targets=()
for src in test/fuzz/*_fuzz.cc; do
  t=$(basename "$src" .cc)
  if [ -z "$only" ] || [ "$only" = "$t" ] || [ "${only}_fuzz" = "$t" ]; then targets+=("$t"); fi
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no target named $only" >&2; exit 2; }
echo "== building ${targets[*]}"
nice -n 19 ninja -C "$build" -j2 "${targets[@]}" npt66_fuzz_seeds >/dev/null
if [ "$seeds" -eq 1 ]; then "$build/npt66_fuzz_seeds" test/fuzz/corpus; fi

per_target=$(( minutes * 60 / ${#targets[@]} ))
[ "$per_target" -ge 1 ] || per_target=1
echo "== fuzzing ${#targets[@]} targets for ${per_target} s each (nice 19)"
summary=()
total_execs=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus-$t" "$build/artifacts-$t"
  log="$build/fuzz-$t.log"
  : >"$log"
  execs=0 crashes=0 cov="" ft=""
  deadline=$(( $(date +%s) + per_target ))
  # libFuzzer stops at the first crash: record it and go on with the time left (at most 5 crashes per target).
  while :; do
    left=$(( deadline - $(date +%s) ))
    [ "$left" -ge 1 ] || break
    status=0
    nice -n 19 "$build/$t" -max_total_time="$left" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts-$t/" "$build/corpus-$t" "test/fuzz/corpus/$t" >>"$log.run" 2>&1 || status=$?
    run_execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log.run" | tail -1 | grep -o '[0-9]*$' || true)
    if [ -z "$run_execs" ]; then run_execs=$(grep -oE '^#[0-9]+' "$log.run" | tail -1 | tr -d '#' || true); fi
    execs=$(( execs + ${run_execs:-0} ))
    last=$(grep -E '^#[0-9]+.*cov: ' "$log.run" | tail -1 || true)
    if [ -n "$last" ]; then
      cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$last")
      ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$last")
    fi
    cat "$log.run" >>"$log"
    rm -f "$log.run"
    if [ "$status" -ne 0 ]; then
      crashes=$(( crashes + 1 ))
      echo "fuzz: $t found a crash (exit $status); input in $build/artifacts-$t/, log $log" >&2
      [ "$crashes" -lt 5 ] || break
    else
      break
    fi
  done
  total_execs=$(( total_execs + execs ))
  summary+=("$(printf '%-20s %14s %10s %8s %8s %8s' "$t" "$execs" "$(( execs / per_target ))" "${cov:-?}" "${ft:-?}" "$crashes")")
done

echo "== results ($(date -u +%Y-%m-%dT%H:%MZ), ${per_target} s per target)"
printf '%-20s %14s %10s %8s %8s %8s\n' target executions exec/s cov ft crashes
for line in "${summary[@]}"; do echo "$line"; done
echo "total executions: $total_execs"
