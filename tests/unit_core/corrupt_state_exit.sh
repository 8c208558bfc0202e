#!/bin/sh
# hotstandbyd's exit codes at start, as systemd sees them: a corrupt state file exits 65 (and the
# unit's RestartPreventExitStatus names 65, so it is not restarted in a loop); a state directory
# that others may write exits 78 (configuration); --check passes (it reads no state file).
# Usage: corrupt_state_exit.sh HOTSTANDBYD UNIT_FILE
set -u
bin=$1
unit=$2
dir=$(mktemp -d /tmp/hs-exit.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*"
    echo "--- stderr of the last run:"
    cat "$dir/err"
    exit 1
}

mkdir -m 700 "$dir/state"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/hb.key")
cat >"$dir/hotstandbyd.toml" <<CONF
[node]
id = 1
slot = 0
state_dir = "$dir/state"
key_file = "$dir/hb.key"
cluster_id = "exit-code-test"
control_socket = "$dir/ctl.sock"

[[path]]
name = "net0"
type = "udp"
local = "127.0.0.1:7400"
peer = "127.0.0.1:7401"

[snmp]
enabled = false
CONF

run() {
    timeout 20 "$bin" -c "$dir/hotstandbyd.toml" "$@" >/dev/null 2>"$dir/err"
}

# A good epoch: the configuration and state are valid.
printf '41\n' >"$dir/state/epoch"
run --check
rc=$?
[ "$rc" -eq 0 ] || fail "--check with a good epoch file exited $rc, expected 0"

# A corrupt epoch: exit 65, with a message naming the file.
printf 'garbage\n' >"$dir/state/epoch"
run
rc=$?
[ "$rc" -eq 65 ] || fail "a corrupt epoch file exited $rc, expected 65"
grep -q "$dir/state/epoch is corrupt" "$dir/err" || fail "the message does not name the file"

# A state directory writable by others: a configuration error, exit 78.
printf '41\n' >"$dir/state/epoch"
chmod 0777 "$dir/state"
run
rc=$?
[ "$rc" -eq 78 ] || fail "a state directory of mode 0777 exited $rc, expected 78"
grep -q "node.state_dir" "$dir/err" || fail "the message does not name node.state_dir"
chmod 0700 "$dir/state"

# The unit does not restart on either.
grep -Eq '^RestartPreventExitStatus=(.* )?65( |$)' "$unit" || fail "$unit does not name 65"
grep -Eq '^RestartPreventExitStatus=(.* )?78( |$)' "$unit" || fail "$unit does not name 78"
echo "ok: exit codes 65 (corrupt state) and 78 (configuration), both in $unit"
