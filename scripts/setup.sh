#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, npm ci, the build. Fast when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make pkg-config libnetfilter-queue-dev libmnl-dev iptables iproute2 iputils-ping tcpdump
  libgtest-dev libbenchmark-dev nlohmann-json3-dev conntrack traceroute socat iperf3 prometheus
  systemd  # systemd-analyze, for test/ts/systemd-units.test.ts
  docker.io busybox-static)  # the Docker tests' private dockerd and their image (src/lab/docker_engine.ts)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to apt-get install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.npt66-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

npm run --silent build
