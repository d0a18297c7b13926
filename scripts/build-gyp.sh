#!/usr/bin/env bash
# The node-gyp build path (binding.gyp): the same addon as the cmake-js build, built in a scratch copy (node-gyp
# would wipe build/, where cmake-js puts its output), copied to build-gyp/npt66.node, then loaded and run once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/gyp-scratch.sh
(cd "$scratch" && npx --no-install node-gyp rebuild --loglevel=warn)
mkdir -p build-gyp
cp "$scratch/build/Release/npt66.node" build-gyp/npt66.node
node -e "
const a = require('./build-gyp/npt66.node');
if (typeof a.Translator !== 'function' || typeof a.Engine !== 'function' || a.counterDescriptions.length === 0) process.exit(1);
const t = new a.Translator([{inside: Buffer.from('fd010203040500000000000000000000', 'hex'), insideLength: 48,
  outside: Buffer.from('20010db8000100000000000000000000', 'hex'), outsideLength: 48}]);
const r = t.mapAddress(Buffer.from('fd010203040500010000000000001234', 'hex'), 'outbound');
if (r.output.toString('hex') !== '20010db80001d5500000000000001234') process.exit(1);
console.log('node-gyp addon (build-gyp/npt66.node) loads, has the queue engine, and translates the RFC 6296 s3.6 example');
"
