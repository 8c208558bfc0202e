#!/bin/sh
# `hotstandbyd --check` validates and writes nothing: run twice against an existing state
# directory, every file in it is byte-for-byte and mode-for-mode the same (the incarnation is not
# raised); against a state_dir that does not exist yet, no directory is created. A real start
# then creates the missing state directory 0700 and raises the incarnation.
# Usage: check_writes_nothing.sh HOTSTANDBYD
set -u
bin=$1
dir=$(mktemp -d /tmp/hs-check.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*"
    echo "--- stderr of the last run:"
    cat "$dir/err"
    exit 1
}

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/hb.key")
port=$((20000 + $$ % 20000))
config() { # config FILE STATE_DIR
    cat >"$1" <<CONF
[node]
id = 1
slot = 0
state_dir = "$2"
key_file = "$dir/hb.key"
cluster_id = "check-test"
control_socket = "$dir/ctl.sock"

[[path]]
name = "net0"
type = "udp"
local = "127.0.0.1:$port"
peer = "127.0.0.1:$((port + 1))"

[snmp]
enabled = false
CONF
}
# Names, modes, sizes, times and contents of everything below $1.
snapshot() {
    (cd "$1" && find . -exec stat -c '%n %A %s %Y' {} + | sort && find . -type f -exec md5sum {} + | sort)
}

# An existing state directory with an epoch and an incarnation.
mkdir -m 700 "$dir/state"
printf '41\n' >"$dir/state/epoch"
printf '7\n' >"$dir/state/incarnation"
config "$dir/a.toml" "$dir/state"
before=$(snapshot "$dir/state")
for i in 1 2; do
    timeout 20 "$bin" -c "$dir/a.toml" --check >/dev/null 2>"$dir/err" || fail "--check run $i exited $?"
done
after=$(snapshot "$dir/state")
[ "$before" = "$after" ] || fail "--check changed the state directory:
before:
$before
after:
$after"
[ "$(cat "$dir/state/incarnation")" = 7 ] || fail "--check raised the incarnation"
[ -e "$dir/ctl.sock" ] && fail "--check created the control socket"

# A state directory that does not exist yet: --check creates nothing.
config "$dir/b.toml" "$dir/new/state"
for i in 1 2; do
    timeout 20 "$bin" -c "$dir/b.toml" --check >/dev/null 2>"$dir/err" || fail "--check run $i (missing state_dir) exited $?"
done
[ -e "$dir/new" ] && fail "--check created $dir/new"

# A real start creates it (0700) and raises the incarnation from 0 to 1.
timeout 20 "$bin" -c "$dir/b.toml" >/dev/null 2>"$dir/err" &
pid=$!
i=0
while [ ! -S "$dir/ctl.sock" ] && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -S "$dir/ctl.sock" ] || fail "the daemon did not open its control socket"
kill -TERM "$pid"
wait "$pid"
pid=""
[ "$(stat -c %a "$dir/new/state")" = 700 ] || fail "state_dir not created 0700"
[ "$(cat "$dir/new/state/incarnation")" = 1 ] || fail "the start did not raise the incarnation to 1"
echo "ok: --check twice wrote nothing, created nothing; a start created state_dir 0700"
