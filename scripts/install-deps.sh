#!/usr/bin/env bash
# Installs every Debian package hotstandby needs to build, test and demo.
# Idempotent: only missing packages are installed. Needs root (apt-get).
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev libfmt-dev libssl-dev libtomlplusplus-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev clang libclang-rt-14-dev clang-format clang-tidy
  libserialport-dev libgpiod-dev
  snmpd snmp snmptrapd libsnmp-dev smitools
  freeipmi-tools libfreeipmi-dev libipmimonitoring-dev openipmi libopenipmi-dev ipmitool
  socat iproute2 nftables stress-ng procps psmisc python3 keepalived gnuplot-nox
  prometheus
  dpkg-dev fakeroot lintian man-db mandoc systemd
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (apt-get) or install them by hand" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
# Never let package installation start system daemons (snmpd, ipmi, ...): tests start their own.
# The policy-rc.d we create is removed however apt-get ends (failure, Ctrl-C, SIGTERM); one that
# was there before is left alone. HS_POLICY_RC_D overrides the path (for the script's own test).
policy=${HS_POLICY_RC_D:-/usr/sbin/policy-rc.d}
created_policy=0
remove_policy() {
  if [ "$created_policy" -eq 1 ]; then
    rm -f "$policy"
    created_policy=0
  fi
}
trap remove_policy EXIT
trap 'remove_policy; trap - INT; kill -INT $$' INT
trap 'remove_policy; trap - TERM; kill -TERM $$' TERM
trap 'remove_policy; trap - HUP; kill -HUP $$' HUP
if [ ! -e "$policy" ]; then
  created_policy=1
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
remove_policy
exit 0
