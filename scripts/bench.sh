#!/usr/bin/env bash
# Runs the benchmarks (not tests) against the release build: bench/failover prints one line per
# setting (failover times at 5/10/50/100 ms, stress with and without real-time mode, steady cost).
# Needs root (network namespaces). Extra arguments go to failover.py (e.g. --quick).
#   scripts/bench.sh            # full run (~10 minutes)
#   scripts/bench.sh --quick    # short run
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (network namespaces, nftables)" >&2
  exit 1
fi
for b in "$BUILD/daemon/hotstandbyd" "$BUILD/cli/hsctl"; do
  [ -x "$b" ] || { echo "bench: $b missing: run 'make build' first" >&2; exit 1; }
done
exec python3 bench/failover/failover.py --build-dir "$BUILD" "$@"
