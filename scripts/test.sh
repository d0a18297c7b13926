#!/usr/bin/env bash
# Every test tier, in order: C++ unit tests (ctest), TypeScript API tests, namespace tests against the kernel.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== C++ unit tests (ctest)"
(cd build && ctest --output-on-failure)
echo "== sanitizers (ASan+UBSan, TSan)" && bash scripts/sanitize.sh

echo "== TypeScript tests (node:test)"
node --test --test-reporter=spec dist/test/ts/

if [ "$(id -u)" -eq 0 ]; then
  echo "== namespace tests (root, real kernel)"
  node --test --test-concurrency=1 --test-reporter=spec dist/test/netns/
else
  echo "== namespace tests skipped: they need root" >&2
  exit 1
fi
