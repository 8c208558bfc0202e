#!/usr/bin/env bash
# The README's `make demo`: two hotstandbyd daemons on this machine (two network namespaces joined
# by a veth pair, plus a socat pty pair as the serial cable). Shows both generated configuration
# files, starts the pair and shows them agree on roles, prints the exact commands of this run to
# paste (hsctl, snmpwalk, ipmitool), cuts the network path (no switchover, redundancy degraded),
# heals it, kills the active with kill -9 and shows the standby take over, with a timeline in ms.
# Roles are named as hsctl names them (active, standby, ...). Cleans up after itself; exits
# non-zero if the expected behaviour did not happen.
#
# Later parts of the demo (snmpd/snmptrapd, the BMC simulator) plug in as
# tests/fixtures/<name>/demo_hook.py modules: see tests/fixtures/rig/demo.py for the hook stages.
# Environment: BUILD (default build), HS_DEMO_INTERVAL_MS (default 10), HS_DEMO_HOOKS,
# HS_DEMO_HOLD=1 (or --hold: keep the pair running at the end, until Enter, to paste commands).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: needs root (network namespaces): run it as root" >&2
  exit 1
fi
for b in "$BUILD/daemon/hotstandbyd" "$BUILD/cli/hsctl"; do
  [ -x "$b" ] || { echo "demo: $b missing: run 'make build' first" >&2; exit 1; }
done
for t in ip socat; do
  command -v "$t" >/dev/null || { echo "demo: $t missing: run scripts/install-deps.sh" >&2; exit 1; }
done
exec python3 tests/fixtures/rig/demo.py --build-dir "$BUILD" "$@"
