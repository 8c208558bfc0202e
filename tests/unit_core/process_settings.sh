#!/bin/sh
# Process-wide settings of a running hotstandbyd, read from outside: the umask is 0077 (set once
# in main() before any thread starts, whatever the caller's umask), and the control socket still
# has its documented mode 0660 (set explicitly after bind, not through the umask).
# Usage: process_settings.sh HOTSTANDBYD
set -u
bin=$1
dir=$(mktemp -d /tmp/hs-proc.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*"
    echo "--- stderr of the daemon:"
    cat "$dir/err"
    exit 1
}

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/hb.key")
port=$((20000 + $$ % 20000))
cat >"$dir/hotstandbyd.toml" <<CONF
[node]
id = 1
slot = 0
state_dir = "$dir/state"
key_file = "$dir/hb.key"
cluster_id = "process-test"
control_socket = "$dir/run/ctl.sock"

[[path]]
name = "net0"
type = "udp"
local = "127.0.0.1:$port"
peer = "127.0.0.1:$((port + 1))"

[snmp]
enabled = false
CONF

umask 022
"$bin" -c "$dir/hotstandbyd.toml" >/dev/null 2>"$dir/err" &
pid=$!
i=0
while [ ! -S "$dir/run/ctl.sock" ] && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
done
[ -S "$dir/run/ctl.sock" ] || fail "the daemon did not open its control socket"
mask=$(awk '/^Umask:/ {print $2}' "/proc/$pid/status")
[ "$mask" = 0077 ] || fail "the daemon's umask is $mask, expected 0077"
mode=$(stat -c %a "$dir/run/ctl.sock")
[ "$mode" = 660 ] || fail "the control socket has mode $mode, expected 660"
mode=$(stat -c %a "$dir/run")
[ "$mode" = 755 ] || fail "the control socket's directory has mode $mode, expected 755"
# SIGPIPE is ignored process-wide (a write on a socket whose peer went, e.g. Net-SNMP's AgentX
# socket racing an snmpd restart, must return EPIPE, not kill the daemon): the daemon survives one.
kill -PIPE "$pid"
sleep 0.3
kill -0 "$pid" 2>/dev/null || { pid=""; fail "the daemon died of SIGPIPE"; }
kill -TERM "$pid"
wait "$pid" || fail "the daemon did not exit 0 after SIGTERM"
pid=""
echo "ok: umask 0077, control socket 0660 in a 0755 directory, SIGPIPE ignored"
