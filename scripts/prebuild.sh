#!/usr/bin/env bash
# The prebuilt addon shipped in the npm package: prebuilds/linux-<arch>/npt66.glibc.node, built by prebuildify
# through binding.gyp (node-gyp) and loaded by node-gyp-build on the user's machine, so `npm install -g npt66`
# needs no compiler there (only the shared libraries libnetfilter-queue1 and libmnl0). N-API 8: one file serves
# every Node >= 20. Built in a scratch copy, like scripts/build-gyp.sh: node-gyp would wipe build/ (cmake-js's).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/gyp-scratch.sh
rm -rf prebuilds
npx --no-install prebuildify --napi --strip --tag-libc --cwd "$scratch" --out "$PWD"
# Load it the way an installed package does (prebuilds only, build/ ignored) and translate RFC 6296 s3.6's example.
PREBUILDS_ONLY=1 node -e "
const file = require('node-gyp-build').path('.');
const a = require(file);
const t = new a.Translator([{inside: Buffer.from('fd010203040500000000000000000000', 'hex'), insideLength: 48,
  outside: Buffer.from('20010db8000100000000000000000000', 'hex'), outsideLength: 48}]);
const r = t.mapAddress(Buffer.from('fd010203040500010000000000001234', 'hex'), 'outbound');
if (typeof a.Engine !== 'function' || r.output.toString('hex') !== '20010db80001d5500000000000001234') process.exit(1);
console.log('prebuilt addon ' + require('node:path').relative('.', file) + ' loads and translates the RFC 6296 s3.6 example');
"
