#!/usr/bin/env python3
"""Operations scenarios against real hotstandbyd daemons (two on loopback, UDP + serial, from
tests/fixtures/system/sysbed.py), each judged by a witness outside the daemon:

  journal_stream  stderr is a journald stream (JOURNAL_STREAM names it), no journald socket:
                  every line starts with its sd-daemon(3) priority, <3> for the auth alarm,
                  <4> for warnings, <6> for info; no line without a prefix
  notify          NOTIFY_SOCKET names the test's datagram socket: READY=1 once, STATUS= with role,
                  epoch, redundancy and peer, updated on change (pair formed, switchover),
                  WATCHDOG=1 repeatedly, STOPPING=1 on SIGTERM
  notify_full     NOTIFY_SOCKET names a datagram socket nobody reads, its queue filled before the
                  daemon starts: the daemon still forms the pair and keeps heartbeating (node2's
                  own receive counters for node1's frames keep rising, the pair stays healthy),
                  answers hsctl, logs the dropped messages; once the socket is read again,
                  WATCHDOG=1 gets through
  reload          SIGHUP with a new log level and preemption: applied (debug lines appear,
                  status shows preemption); a file with a syntax error, then one changing
                  node.cluster_id and a path's port: refused with the keys named, the daemon keeps
                  running on the old configuration (pair healthy, no role change); --check
                  refuses the same files
  reload_chassis  with a BMC: a reload with a bad fan curve point (duty 150 %) is refused with the
                  key and reason named (--check refuses the file with 78); a new curve,
                  sensor_poll_ms 5000 -> 200, a new fail-safe duty and [snmp] keys are applied
                  live: judged at ipmi_sim (its command log): the zone's duty becomes the
                  new curve's, nothing else is sent (no fail-safe burst, no power command), and
                  five temperature steps each reach the fans within 1.5 s; then a new curve
                  beside a changed zone id and BMC timeout is refused as a whole with
                  "needs restart" naming both, and the BMC keeps following the running curve;
                  same pid, no role or epoch change, no fail-safe throughout
  key_rotation    a new heartbeat key on both nodes (key_grace_ms = 3000), node1 reloaded, then
                  node2 1 s later: judged on the wire (every UDP heartbeat on loopback captured and
                  its tag checked in Python with the old and the new key): node1 sends under the
                  old key until the grace is over, then both under the new one, never a frame
                  under a key the receiver did not hold; and by both daemons' status polled every
                  50 ms: no path ever left "up", no role or epoch change, no auth alarm; both log
                  key_rotation_done
  hooks           on_role_change / on_active hooks (real scripts) in a switchover: each node's
                  hook writes the role changes in order with epoch and reason; output logged; the
                  daemon's environment (NOTIFY_SOCKET) not passed on; a hook that outlives its
                  timeout is killed with its children while the pair stays healthy; a
                  world-writable hook is refused (exit 78)
  chassis_hooks   on_chassis_event and on_stop (real scripts, with a BMC): `hsctl chassis power
                  off` runs the hook with HS_EVENT=power_changed HS_POWER=off, a temperature past
                  its critical threshold at ipmi_sim with HS_EVENT=sensor_threshold and the
                  sensor's name, state and reading; SIGTERM runs on_stop once with HS_EVENT=stop,
                  HS_ROLE=STOPPED, HS_LAST_ROLE=ACTIVE, and the daemon exits cleanly within the
                  hook timeout although the hook would sleep for 60 s
  sensor_list     `hsctl sensor list` against `ipmitool sensor list` on the same ipmi_sim BMC:
                  the same lines byte for byte (10 columns, unit words), also with a temperature
                  past its upper non-critical and its upper critical threshold
  chassis_status  `hsctl chassis status` against `ipmitool chassis status` on the same ipmi_sim
                  BMC, power on and (after `hsctl chassis power off`) off: ipmitool's lines byte
                  for byte, then a blank line and the daemon's own fields
  journal_full    the journald socket (bound in node1's mount namespace) never read, its queue
                  filled before node1 starts: node1 still starts, forms the pair and keeps
                  heartbeating while it logs (node2's receive counters rise, no stall); once the
                  socket is read again the next entries are event=log_dropped (PRIORITY=4, with
                  the count) and the line that triggered it
  journal_native  a datagram socket bound at /run/systemd/journal/socket in the daemon's own
                  mount namespace receives the lines as journal entries: PRIORITY=3 with
                  EVENT=auth_alarm PATH=..., ROLE/EPOCH fields on the role change

    test_ops.py --daemon D --hsctl H --plugin P --source-dir S --scenario NAME
Exit codes: 0 pass, 1 fail, 77 skip (not root, a tool missing).
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "system"))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "bed"))
import common  # noqa: E402
import sysbed  # noqa: E402
from common import SKIP, Skip  # noqa: E402

SCENARIOS = {}
ARGS = None


class Failure(Exception):
    pass


def scenario(fn):
    SCENARIOS[fn.__name__[len("sc_"):]] = fn
    return fn


def expect(cond, what):
    print(("  ok    " if cond else "  FAIL  ") + what, flush=True)
    if not cond:
        raise Failure(what)


def step(what):
    print("- " + what, flush=True)


def make_bed(test_id, with_bmc=False):
    bed = sysbed.SystemBed(test_id, ARGS.daemon, ARGS.hsctl, plugin=ARGS.plugin,
                           source_dir=ARGS.source_dir, with_bmc=with_bmc, with_snmp=False)
    for node in bed.nodes.values():
        add_config(node, "[snmp]\nenabled = false\n")
    return bed


def add_config(node, text=None, replace=None):
    """Appends text to the node's configuration (and replaces strings in it) at every start."""
    orig = node.write_config

    def write_config():
        orig()
        with open(node.conf) as f:
            conf = f.read()
        for a, b in (replace or {}).items():
            conf = conf.replace(a, b)
        if text:
            conf += "\n" + text + "\n"
        with open(node.conf, "w") as f:
            f.write(conf)
    node.write_config = write_config


def in_mount_ns(node, journal_dir):
    """Runs the node's daemon in a private mount namespace with a fresh /run/systemd: an empty
    journal directory, or journal_dir (holding the test's `socket`) bound onto it."""
    common.need_tools("unshare", "mount")
    daemon = node.bed.daemon
    script = ("mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/journal && %s"
              "exec \"$0\" -c \"$1\"") % (
        ('mount --bind "%s" /run/systemd/journal && ' % journal_dir) if journal_dir else "")
    node.command = lambda: ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                            daemon, node.conf]


def journal_stream_env(node):
    """JOURNAL_STREAM naming the node's log file (its stderr): the daemon takes stderr for a
    journald stream."""
    open(node.log_path, "a").close()
    st = os.stat(node.log_path)
    return "%d:%d" % (st.st_dev, st.st_ino)


def start_with_env(node, env):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        node.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def wrong_key_pair(bed):
    """node2 gets another key: both sides raise the auth alarm."""
    bad = common.write_key(os.path.join(bed.dir, "wrong.key"))
    swap = {bed.key_file: bad}
    add_config(bed.nodes[2], replace=swap)
    return swap  # clear() it: node2's next start has the right key


@scenario
def sc_journal_stream(args):
    if not common.is_root():
        raise Skip("needs root (mount namespace)")
    with make_bed("jstream") as bed:
        swap = wrong_key_pair(bed)
        bed.start_infra()
        n1 = bed.nodes[1]
        in_mount_ns(n1, None)
        step("node1 with JOURNAL_STREAM naming its stderr, no journald socket; node2 wrong key")
        start_with_env(n1, {"JOURNAL_STREAM": journal_stream_env(n1)})
        bed.nodes[2].start()
        ok = common.wait_for(lambda: re.search(r"(?m)^<3>.*event=auth_alarm", n1.log_text()), 15)
        expect(ok, "node1 logged the auth alarm with priority <3> (err)")
        bed.check_alive()
        step("node2 with the right key, then killed: node1 warns (path down, peer lost)")
        bed.nodes[2].child.stop(signal.SIGTERM)
        swap.clear()
        bed.nodes[2].start()
        bed.wait_healthy()
        bed.nodes[2].kill9()
        ok = common.wait_for(lambda: re.search(r"(?m)^<4>warn .*event=peer_lost", n1.log_text()), 10)
        expect(ok, "node1 logged peer_lost with priority <4> (warning)")
        lines = [ln for ln in n1.log_text().splitlines() if not ln.startswith("### ")]
        bad = [ln for ln in lines if not re.match(r"<[0-7]>", ln)]
        expect(not bad, "every line of node1 starts with <N> (%d lines; first without: %r)" %
               (len(lines), bad[:1]))
        expect(not any(re.match(r"<\d>\d{4}-", ln) for ln in lines),
               "no timestamp after the prefix (journald stamps the time)")
        expect(any(re.match(r"<6>info .*event=start ", ln) for ln in lines),
               "the start line has priority <6> (info)")
        pri = {m.group(1) for ln in lines for m in [re.match(r"<(\d)>", ln)] if m}
        step("priorities seen: %s" % sorted(pri))
        want = {"debug": "7", "info": "6", "warn": "4", "error": "3"}
        wrong = [ln for ln in lines if want.get(ln[3:].split(" ", 1)[0]) != ln[1]]
        expect(not wrong, "each prefix matches the line's level (first mismatch: %r)" % wrong[:1])
        step("node2 (no JOURNAL_STREAM) keeps timestamped lines")
        l2 = [ln for ln in bed.nodes[2].log_text().splitlines() if not ln.startswith("###")]
        expect(l2 and all(re.match(r"\d{4}-\d\d-\d\dT", ln) for ln in l2),
               "node2's lines start with a timestamp")


def recv_journal(sock, until):
    """Journal datagrams (dicts of field -> value) received until `until` (monotonic)."""
    out = []
    while time.monotonic() < until:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        out.append(parse_journal(data))
    return out


def parse_journal(data):
    """The native journal protocol: NAME=value\\n, or NAME\\n + le64 length + bytes + \\n."""
    fields = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        k = k.decode()
        if k in fields:
            fields.setdefault("_dups", []).append(k)
        fields.setdefault(k, v.decode(errors="replace"))
    return fields


@scenario
def sc_journal_native(args):
    if not common.is_root():
        raise Skip("needs root (mount namespace)")
    with make_bed("jnative") as bed:
        wrong_key_pair(bed)
        jdir = os.path.join(bed.dir, "journal")
        os.makedirs(jdir)
        js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        js.bind(os.path.join(jdir, "socket"))
        js.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        bed.start_infra()
        n1 = bed.nodes[1]
        in_mount_ns(n1, jdir)
        step("node1 with JOURNAL_STREAM and a journal socket; node2 with another key")
        start_with_env(n1, {"JOURNAL_STREAM": journal_stream_env(n1)})
        bed.nodes[2].start()
        entries = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            entries += recv_journal(js, time.monotonic() + 0.5)
            if any(e.get("EVENT") == "auth_alarm" for e in entries) and \
                    any(e.get("EVENT") == "role_change" for e in entries):
                break
        bed.check_alive()
        step("%d journal entries received" % len(entries))
        expect(entries, "the journal socket received entries")
        expect(all("MESSAGE" in e and "PRIORITY" in e for e in entries),
               "every entry has MESSAGE and PRIORITY")
        dups = [e for e in entries if e.get("_dups") and set(e["_dups"]) - {"PATH", "FROM"}]
        expect(not dups, "no field sent twice (CODE_FILE, CODE_LINE are the log line's): %s" %
               dups[:1])
        expect(all(e.get("SYSLOG_IDENTIFIER") == "hotstandbyd" for e in entries),
               "SYSLOG_IDENTIFIER=hotstandbyd")
        alarm = [e for e in entries if e.get("EVENT") == "auth_alarm"]
        expect(alarm, "an auth_alarm entry")
        expect(alarm[0]["PRIORITY"] == "3", "auth_alarm PRIORITY=3 (err): %s" % alarm[0]["PRIORITY"])
        expect(alarm[0].get("PATH") in ("net0", "serial0"), "auth_alarm PATH=%s" %
               alarm[0].get("PATH"))
        expect(alarm[0].get("CODE_FILE", "").endswith("node_core.cpp") and
               alarm[0].get("CODE_LINE", "").isdigit(), "CODE_FILE and CODE_LINE")
        rc = [e for e in entries if e.get("EVENT") == "role_change"]
        expect(rc and rc[0].get("ROLE") == "ACTIVE" and rc[0].get("EPOCH", "").isdigit(),
               "role_change entry with ROLE=ACTIVE and EPOCH (%s)" % (rc[:1],))
        expect(rc[0]["PRIORITY"] == "6", "role_change PRIORITY=6 (info)")
        start = [e for e in entries if e.get("EVENT") == "start"]
        expect(start and start[0].get("NODE") == "1", "start entry NODE=1")
        out = [ln for ln in n1.log_text().splitlines() if not ln.startswith("### ")]
        expect(not out, "nothing on stderr while journald takes the lines (%r)" % out[:2])
        js.close()


@scenario
def sc_journal_full(args):
    if not common.is_root():
        raise Skip("needs root (mount namespace)")
    with make_bed("jfull") as bed:
        jdir = os.path.join(bed.dir, "journal")
        os.makedirs(jdir)
        jpath = os.path.join(jdir, "socket")
        js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        js.bind(jpath)
        senders = fill_dgram_socket(jpath)
        bed.start_infra()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        in_mount_ns(n1, jdir)
        step("node1 under JOURNAL_STREAM, its journald socket full and unread; then node2")
        start_with_env(n1, {"JOURNAL_STREAM": journal_stream_env(n1)})
        ok = common.wait_for(lambda: n1.status() is not None, 10)
        expect(ok, "node1 answers its control socket (logging never blocks it)")
        n2.start()
        st = bed.wait_healthy(timeout=20)
        expect(st[1]["role"] == "ACTIVE" and st[2]["role"] == "STANDBY",
               "pair formed: node1 ACTIVE, node2 STANDBY")
        step("node1 logs (SIGHUP: reload lines) while the socket stays full")
        for _ in range(3):
            n1.signal(signal.SIGHUP)
            time.sleep(0.3)
        r0 = rx_from_peer(n2)
        time.sleep(2.0)
        r1 = rx_from_peer(n2)
        expect(r1 > r0 + 20, "node2 keeps receiving node1's heartbeats (rx %d -> %d)" % (r0, r1))
        st = bed.wait_healthy(timeout=5)
        expect(st[1]["role"] == "ACTIVE", "pair still healthy, node1 ACTIVE")
        expect(not re.search(r"event=stall", n2.log_text()), "node2 saw no stall of node1")
        step("journald reads again: the loss is reported with the next line")
        while True:
            try:
                js.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
        for s in senders:
            s.close()
        n1.signal(signal.SIGHUP)
        entries = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
                e.get("EVENT") == "reload_done" for e in entries):
            entries += recv_journal(js, time.monotonic() + 0.5)
        dropped = [e for e in entries if e.get("EVENT") == "log_dropped"]
        expect(dropped and int(dropped[0].get("DROPPED", "0")) > 0 and
               dropped[0].get("PRIORITY") == "4",
               "a log_dropped entry (priority warning) with the count: %s" % dropped[:1])
        expect(any(e.get("EVENT") == "reload_done" for e in entries),
               "the lines after it arrive: %s" % [e.get("EVENT") for e in entries][:10])
        bed.check_alive()
        js.close()


class NotifySocket:
    """The systemd side of sd_notify(3): an AF_UNIX datagram socket the daemon sends to."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []  # (time, {field: value})

    def drain(self, secs=0.0):
        until = time.monotonic() + secs
        while True:
            self.sock.settimeout(max(0.0, until - time.monotonic()) or 0.001)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                if time.monotonic() >= until:
                    return self.msgs
                continue
            fields = dict(ln.split("=", 1) for ln in data.decode().split("\n") if "=" in ln)
            self.msgs.append((time.time(), fields))

    def values(self, key):
        return [m[key] for _, m in self.msgs if key in m]

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(0.05)
            if pred():
                return True
        return False

    def close(self):
        self.sock.close()


@scenario
def sc_notify(args):
    with make_bed("notify") as bed:
        ns = NotifySocket(os.path.join(bed.dir, "notify.sock"))
        bed.start_infra()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        step("node1 alone with NOTIFY_SOCKET")
        start_with_env(n1, {"NOTIFY_SOCKET": ns.path})
        ok = ns.wait(lambda: ns.values("READY"), 10)
        expect(ok, "READY=1 received")
        ok = ns.wait(lambda: any(v.startswith("role=ACTIVE") for v in ns.values("STATUS")), 10)
        expect(ok, "STATUS shows role=ACTIVE (%s)" % ns.values("STATUS"))
        st = n1.status()
        last = ns.values("STATUS")[-1]
        expect(re.fullmatch(r"role=ACTIVE epoch=%d redundancy=notRedundant peer=none" %
                            st["epoch"], last) is not None,
               "STATUS alone: %r (daemon epoch %s)" % (last, st["epoch"]))
        step("node2 joins (no NOTIFY_SOCKET): the pair forms")
        n2.start()
        bed.wait_healthy()
        ok = ns.wait(lambda: ns.values("STATUS")[-1].endswith(
            "redundancy=redundant peer=STANDBY"), 10)
        expect(ok, "STATUS updated to redundant with the peer STANDBY (%s)" %
               ns.values("STATUS")[-1])
        step("switchover: node1 hands over")
        p = n1.hsctl("switchover")
        expect(p.returncode == 0, "hsctl switchover: %s%s" % (p.stdout, p.stderr))
        expect(bed.wait_role(2, "ACTIVE"), "node2 ACTIVE")
        ok = ns.wait(lambda: ns.values("STATUS")[-1].startswith("role=STANDBY "), 10)
        st1 = n1.status()
        expect(ok, "STATUS shows role=STANDBY after the switchover (%s)" % ns.values("STATUS")[-1])
        m = re.search(r"epoch=(\d+)", ns.values("STATUS")[-1])
        expect(m and int(m.group(1)) == st1["epoch"] and st1["epoch"] > st["epoch"],
               "STATUS epoch %s = daemon's raised epoch %s" % (m and m.group(1), st1["epoch"]))
        statuses = ns.values("STATUS")
        expect(all(a != b for a, b in zip(statuses, statuses[1:])),
               "STATUS sent only on change (%d messages)" % len(statuses))
        w0 = len(ns.values("WATCHDOG"))
        ns.drain(1.0)
        expect(len(ns.values("WATCHDOG")) > w0, "WATCHDOG=1 keeps coming (%d)" %
               len(ns.values("WATCHDOG")))
        expect(len(ns.values("READY")) == 1, "READY=1 exactly once")
        step("SIGTERM node1")
        rc = n1.child.stop(signal.SIGTERM, timeout=10)
        ns.drain(0.2)
        expect(rc == 0 and ns.values("STOPPING"), "STOPPING=1 on SIGTERM, exit 0 (%s)" % rc)
        for t, m in ns.msgs:
            if "STATUS" in m or "READY" in m:
                print("    %.3f %s" % (t, m))
        ns.close()


def fill_dgram_socket(path):
    """Fills the receiving queue of the datagram socket at path: each sender has a send buffer of
    its own, so senders are added until a fresh one cannot send at all. Returns the senders."""
    senders = []
    for _ in range(64):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setblocking(False)
        senders.append(s)
        n = 0
        try:
            while True:
                s.sendto(b"FILL=1", path)
                n += 1
        except BlockingIOError:
            pass
        if n == 0:
            return senders
    raise Failure("the notify socket's queue never filled")


def rx_from_peer(node):
    st = node.status() or {}
    return sum(p.get("rx", 0) for p in st.get("paths") or [])


@scenario
def sc_notify_full(args):
    with make_bed("notify_full") as bed:
        ns = NotifySocket(os.path.join(bed.dir, "notify.sock"))
        senders = fill_dgram_socket(ns.path)
        bed.start_infra()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        step("node1 with NOTIFY_SOCKET full and unread, then node2")
        start_with_env(n1, {"NOTIFY_SOCKET": ns.path})
        ok = common.wait_for(lambda: n1.status() is not None, 10)
        expect(ok, "node1 answers its control socket")
        n2.start()
        st = bed.wait_healthy(timeout=20)
        expect(st[1]["role"] == "ACTIVE" and st[2]["role"] == "STANDBY",
               "pair formed: node1 ACTIVE, node2 STANDBY")
        r0 = rx_from_peer(n2)
        time.sleep(2.0)
        r1 = rx_from_peer(n2)
        expect(r1 > r0 + 20, "node2 keeps receiving node1's heartbeats (rx %d -> %d)" % (r0, r1))
        st = bed.wait_healthy(timeout=5)
        expect(st[1]["role"] == "ACTIVE", "pair still healthy, node1 ACTIVE")
        expect(not re.search(r"event=stall", n2.log_text()),
               "node2 saw no stall of node1")
        m = re.findall(r"event=notify_dropped dropped=(\d+)", n1.log_text())
        expect(m, "node1 logged notify_dropped")
        step("the manager reads again: WATCHDOG=1 gets through")
        ns.drain(0.5)
        ns.msgs = []
        ok = ns.wait(lambda: ns.values("WATCHDOG"), 10)
        expect(ok, "WATCHDOG=1 received after the queue drained")
        for s in senders:
            s.close()
        ns.close()


def edit_conf(node, repl):
    with open(node.conf) as f:
        text = f.read()
    for a, b in repl.items():
        assert a in text, "%s not in %s" % (a, node.conf)
        text = text.replace(a, b)
    with open(node.conf, "w") as f:
        f.write(text)


def count(node, pattern):
    return len(re.findall(pattern, node.log_text()))


def sighup_and_wait(node, pattern):
    """SIGHUP; waits for one more log line matching pattern (reload_done / reload_refused)."""
    before = count(node, pattern)
    node.signal(signal.SIGHUP)
    ok = common.wait_for(lambda: count(node, pattern) > before, 10)
    expect(ok, "after SIGHUP: log line %r" % pattern)
    return [ln for ln in node.log_text().splitlines() if re.search(pattern, ln)][-1]


@scenario
def sc_reload(args):
    with make_bed("reload") as bed:
        bed.start()
        st = bed.wait_healthy()
        n1 = bed.nodes[1]
        epoch0 = st[1]["epoch"]
        expect(st[1].get("preemption") in (False, None), "preemption off at start")
        mark = time.time()
        step("valid change: log_level debug, preempt true")
        orig = open(n1.conf).read()
        edit_conf(n1, {'log_level = "info"': 'log_level = "debug"', "preempt = false":
                       "preempt = true"})
        line = sighup_and_wait(n1, r"event=reload_(done|refused)")
        expect("reload_done" in line and "node.log_level" in line and "heartbeat.preempt" in line,
               "reload applied: %s" % line[-160:])
        n1.status()
        ok = common.wait_for(lambda: re.search(r" debug .*control request cmd=status",
                                               n1.log_text()) or n1.status() is None, 5)
        expect(ok, "debug lines appear after the reload (control request cmd=status)")
        expect(n1.status().get("preemption") is True, "status: preemption on")
        good = open(n1.conf).read()
        step("a file with a syntax error")
        with open(n1.conf, "w") as f:
            f.write(good + "\n[heartbeat\n")
        line = sighup_and_wait(n1, r"event=reload_refused")
        expect("syntax error" in line and "running configuration stays" in line,
               "refused: %s" % line[-200:])
        expect(line.startswith("error") or " error " in line[:40], "logged as an error")
        step("restart-only keys: node.cluster_id and a path's local port")
        p_local = "127.0.0.1:%d" % bed.udp_ports[1]
        text = good.replace('cluster_id = "sysbed-pair"', 'cluster_id = "another"').replace(
            'local = "%s"' % p_local, 'local = "127.0.0.1:%d"' % common.free_port())
        text = text.replace('log_level = "debug"', 'log_level = "warn"')
        with open(n1.conf, "w") as f:
            f.write(text)
        line = sighup_and_wait(n1, r"event=reload_refused")
        expect("node.cluster_id" in line and "path" in line and "nothing was applied" in line,
               "refused naming the keys: %s" % line[-220:])
        ok = common.wait_for(lambda: re.search(r" debug .*control request cmd=status",
                                               n1.log_text().split("reload_refused")[-1]) or
                             n1.status() is None, 5)
        expect(ok, "log level not changed by the refused file (debug lines still there)")
        r = common.run([bed.daemon, "--check", "-c", n1.conf], check=False)
        expect(r.returncode == 0, "--check accepts the file itself (the refusal is the reload's)")
        with open(n1.conf, "w") as f:
            f.write(good + "\n[heartbeat\n")
        r = common.run([bed.daemon, "--check", "-c", n1.conf], check=False)
        expect(r.returncode == 78, "--check refuses the broken file (78): %d" % r.returncode)
        step("the pair never noticed")
        st = bed.wait_healthy(timeout=5)
        expect(st[1]["role"] == "ACTIVE" and st[1]["epoch"] == epoch0,
               "node1 ACTIVE, epoch unchanged (%s)" % st[1]["epoch"])
        expect(not re.search(r"event=role_change", "\n".join(
            ln for ln in n1.log_lines(since=mark))), "no role change during the reloads")
        expect(count(bed.nodes[2], r"event=auth_alarm") == 0, "node2 saw no auth failure")
        bed.check_alive()
        with open(n1.conf, "w") as f:
            f.write(orig)


def zone_duties(bed, cmd_log, zone, since_ns):
    """The Supermicro zone duties (percent) the BMC received for `zone` after since_ns (the
    plugin's cmd_log: data 66 01 ZONE DUTY), in arrival order, with their arrival times."""
    out = []
    for e in bed.bmc.ctl_log(cmd_log):
        d = e["data"]
        if e["kind"] == "sm_zone_duty" and e["t_ns"] > since_ns and len(d) == 8 and \
                d.startswith("6601") and int(d[4:6], 16) == zone:
            out.append((e["t_ns"], int(d[6:8], 16)))
    return out


@scenario
def sc_reload_chassis(args):
    with make_bed("reload_chassis", with_bmc=True) as bed:
        cmd_log = os.path.join(bed.dir, "bmc-cmds.log")
        bed.bmc.plugin_options = "fan_sensor0=4 fan_sensor1=5 cmd_log=%s" % cmd_log
        bed.sensor_poll_ms = 5000  # slow at start: the reload makes it 200 ms
        bed.start()
        st0 = bed.wait_healthy()
        bed.wait_role(1, "ACTIVE")
        bed.wait_driving(1)
        n1 = bed.nodes[1]
        pid0 = n1.pid
        bed.bmc.set_sensor(1, 40)  # CPU Temp 40 C: the running curve gives 30 %
        ok = common.wait_for(lambda: bed.bmc.status().get("duty0") == 30, 20, interval=0.2)
        expect(ok, "zone 0 at 30 %% (curve at 40 C) at the BMC: %s" % bed.bmc.status())
        good = open(n1.conf).read()
        old_curve = "curve = [[30, 20], [50, 40], [70, 100]]"
        new_curve = "curve = [[30, 50], [50, 80], [70, 100]]"
        mark = time.time()
        step("a bad fan curve point: duty 150 %")
        edit_conf(n1, {old_curve: "curve = [[30, 20], [50, 40], [70, 150]]"})
        line = sighup_and_wait(n1, r"event=reload_(done|refused)")
        expect("reload_refused" in line and "chassis.zone" in line and "curve" in line and
               "running configuration stays" in line, "refused: %s" % line[-220:])
        r = common.run([bed.daemon, "--check", "-c", n1.conf], check=False)
        expect(r.returncode == 78, "--check refuses the same file (78): %d" % r.returncode)

        step("live: a new curve for zone 0, sensor_poll_ms 5000 -> 200, fail-safe duty, "
             "snmp.notify_queue and ping_interval_s")
        t_hup = time.monotonic_ns()
        live = (good.replace(old_curve, new_curve)
                .replace("sensor_poll_ms = 5000", "sensor_poll_ms = 200")
                .replace("failsafe_duty_pct = 100", "failsafe_duty_pct = 90")
                .replace("[snmp]\nenabled = false",
                         "[snmp]\nenabled = false\nnotify_queue = 64\nping_interval_s = 2"))
        with open(n1.conf, "w") as f:
            f.write(live)
        line = sighup_and_wait(n1, r"event=reload_(done|refused)")
        expect("reload_done" in line and "chassis.zone[0].curve" in line and
               "chassis.sensor_poll_ms" in line and "snmp.notify_queue" in line and
               "snmp.ping_interval_s" in line,
               "applied: %s" % line[-260:])
        ok = common.wait_for(lambda: bed.bmc.status().get("duty0") == 65, 10, interval=0.1)
        expect(ok, "the BMC's zone 0 runs at the new curve's 65 %% (40 C): %s" % bed.bmc.status())
        duties = [d for _, d in zone_duties(bed, cmd_log, 0, t_hup)]
        expect(duties and all(d == 65 for d in duties),
               "zone 0 got the new duty and nothing else (no fail-safe burst): %s" % duties)
        expect(not [e for e in bed.bmc.ctl_log(cmd_log)
                    if e["t_ns"] > t_hup and e["kind"] == "chassis_control"],
               "no power command after the reload")

        step("the new sensor poll: every temperature change reaches the fans within 1.5 s "
             "(with the old 5 s poll most would not)")
        lags = []
        for temp, want in ((42, 68), (46, 74), (52, 82), (58, 88), (64, 94)):
            t0 = time.monotonic_ns()
            bed.bmc.set_sensor(1, temp)
            ok = common.wait_for(lambda: any(d == want for _, d in
                                             zone_duties(bed, cmd_log, 0, t0)), 8, interval=0.05)
            expect(ok, "zone 0 reached %d %% at %d C" % (want, temp))
            t1 = [t for t, d in zone_duties(bed, cmd_log, 0, t0) if d == want][0]
            lags.append((t1 - t0) / 1e6)
        step("lags from the temperature change to the duty at the BMC (ms): %s" %
             ", ".join("%.0f" % x for x in lags))
        expect(max(lags) < 1500, "each within 1.5 s: %s" % lags)

        step("restart-only keys beside a live one: refused as a whole, nothing applied")
        refused = (live.replace(new_curve, "curve = [[30, 20], [50, 30], [70, 40]]")
                   .replace("[[chassis.zone]]\nid = 1\n", "[[chassis.zone]]\nid = 5\n")
                   .replace("retransmission_timeout_ms = 300", "retransmission_timeout_ms = 400"))
        expect(refused.count("id = 5\n") == 1 and "retransmission_timeout_ms = 400" in refused,
               "zone 1's id and the BMC's retransmission timeout changed in the file")
        with open(n1.conf, "w") as f:
            f.write(refused)
        t_ref = time.monotonic_ns()
        line = sighup_and_wait(n1, r"event=reload_(done|refused)")
        expect("reload_refused" in line and "needs restart" in line and "chassis.zone[1].id" in line
               and "chassis.retransmission_timeout_ms" in line and "nothing was applied" in line,
               "refused as a whole: %s" % line[-260:])
        bed.bmc.set_sensor(1, 66)  # the running curve: 96 %; the refused one would give 40 %
        ok = common.wait_for(lambda: bed.bmc.status().get("duty0") == 96, 8, interval=0.05)
        expect(ok, "zone 0 follows the running curve (96 %% at 66 C): %s" % bed.bmc.status())
        duties = [d for _, d in zone_duties(bed, cmd_log, 0, t_ref)]
        expect(40 not in duties, "the refused curve never reached the BMC: %s" % duties)

        step("the same daemon on the same role throughout")
        st = bed.wait_healthy(timeout=5)
        expect(n1.pid == pid0, "node1 not restarted (pid %s -> %s)" % (pid0, n1.pid))
        expect(st[1]["role"] == "ACTIVE" and st[1]["epoch"] == st0[1]["epoch"],
               "node1 ACTIVE, epoch unchanged")
        expect(bed.wait_driving(1), "node1 still drives the chassis")
        expect(not [ln for ln in n1.log_lines(since=mark) if "event=role_change" in ln],
               "no role change")
        expect(not [ln for ln in n1.log_lines(since=mark) if "event=fail_safe " in ln],
               "no fail-safe after a reload")
        bed.check_alive()
        with open(n1.conf, "w") as f:
            f.write(good)


class WireTags:
    """Captures the UDP datagrams to the given loopback ports (AF_PACKET on lo) and tells which
    key tagged each heartbeat frame: HMAC-SHA256(HMAC-SHA256(material, "hotstandby cluster " +
    cluster_id), body) truncated to 16 bytes, as hb/frame.cpp computes it."""

    def __init__(self, ports, keys, cluster_id):
        import hashlib
        import hmac
        self.hmac, self.sha = hmac, hashlib.sha256
        self.ports = set(ports)
        self.keys = {name: hmac.new(material, ("hotstandby cluster " + cluster_id).encode(),
                                    hashlib.sha256).digest() for name, material in keys.items()}
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.frames = []  # (time, dst port, key name or None)
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def which(self, frame):
        body, tag = frame[:-16], frame[-16:]
        for name, k in self.keys.items():
            if self.hmac.compare_digest(self.hmac.new(k, body, self.sha).digest()[:16], tag):
                return name
        return None

    def run(self):
        while self.running:
            try:
                pkt, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # lo shows every packet twice: take the incoming copy
            ip = pkt[14:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 0x0F) * 4
            dport = int.from_bytes(ip[ihl + 2:ihl + 4], "big")
            if dport in self.ports:
                self.frames.append((time.time(), dport, self.which(ip[ihl + 8:])))

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class StatusWatch:
    """Polls both nodes' status every 50 ms and keeps what it saw."""

    def __init__(self, bed):
        self.bed = bed
        self.samples = []  # (time, node, role, epoch, {path: state})
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            for n in (1, 2):
                st = self.bed.nodes[n].status()
                if st:
                    self.samples.append((time.time(), n, st["role"], st["epoch"],
                                         {p["name"]: p["state"] for p in st.get("paths") or []}))
            time.sleep(0.05)

    def close(self):
        self.running = False
        self.thread.join()


@scenario
def sc_key_rotation(args):
    with make_bed("key_rotation") as bed:
        bed.start()
        st0 = bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        new_key = common.write_key(os.path.join(bed.dir, "new.key"))
        material = {"old": bytes.fromhex(open(bed.key_file).read().strip()),
                    "new": bytes.fromhex(open(new_key).read().strip())}
        wire = WireTags(bed.udp_ports.values(), material, "sysbed-pair")
        watch = StatusWatch(bed)
        mark = time.time()
        try:
            time.sleep(0.5)
            step("node1: key_file = new.key, key_grace_ms = 3000; SIGHUP")
            for n in (n1, n2):
                edit_conf(n, {'key_file = "%s"' % bed.key_file:
                              'key_file = "%s"\nkey_grace_ms = 3000' % new_key})
            line = sighup_and_wait(n1, r"event=reload_(done|refused)")
            expect("reload_done" in line and "node.key_file" in line, "node1: %s" % line[-200:])
            t1 = time.time()
            time.sleep(1.0)
            step("node2 1 s later: SIGHUP")
            line = sighup_and_wait(n2, r"event=reload_(done|refused)")
            expect("reload_done" in line and "node.key_file" in line, "node2: %s" % line[-200:])
            t2 = time.time()
            ok = common.wait_for(lambda: all(re.search(r"event=key_rotation_done", n.log_text())
                                             for n in (n1, n2)), 15)
            expect(ok, "both nodes logged key_rotation_done")
            time.sleep(1.0)
        finally:
            watch.close()
            wire.close()
        to = {bed.udp_ports[1]: 1, bed.udp_ports[2]: 2}  # the receiving node of each port
        frames = [(t, 3 - to[port], k) for t, port, k in wire.frames if t >= mark]
        for n in (1, 2):
            mine = [(t, k) for t, src, k in frames if src == n]
            kinds = []
            for t, k in mine:
                if not kinds or kinds[-1][0] != k:
                    kinds.append([k, t, 0])
                kinds[-1][2] += 1
            print("    node%d sent: %s" % (n, ", ".join("%s x%d from +%.2fs" % (k, c, t - mark)
                                                     for k, t, c in kinds)))
            expect(mine and all(k in ("old", "new") for _, k in mine),
                   "node%d: every frame on the wire under the old or the new key" % n)
            expect([k for k, _, _ in kinds] == ["old", "new"],
                   "node%d: old key frames, then new key frames, never back" % n)
        first_new = {n: min(t for t, src, k in frames if src == n and k == "new") for n in (1, 2)}
        expect(first_new[1] >= t2 - 0.05, "node1 sent under the new key only after node2 held it "
               "(first new frame at +%.2fs, node2 reloaded at +%.2fs)"
               % (first_new[1] - mark, t2 - mark))
        expect(first_new[1] >= t1 + 2.9, "node1 kept the old key for its 3 s grace (+%.2fs)"
               % (first_new[1] - t1))
        expect(first_new[2] >= first_new[1], "node2 switched after hearing node1 under the new key")
        bad = [s for s in watch.samples if any(v != "up" for v in s[4].values())]
        roles = {(s[1], s[2], s[3]) for s in watch.samples}
        print("    %d status samples; roles/epochs seen: %s" % (len(watch.samples), sorted(roles)))
        expect(len(watch.samples) > 40, "status polled throughout (%d samples)" % len(watch.samples))
        expect(not bad, "no path ever left up on either node (%s)" % bad[:3])
        expect(roles == {(1, "ACTIVE", st0[1]["epoch"]), (2, "STANDBY", st0[2]["epoch"])},
               "no role or epoch change")
        for n in (n1, n2):
            text = "\n".join(n.log_lines(since=mark))
            expect(not re.search(r"event=(auth_alarm|path_down|role_change)", text),
                   "node%d: no auth alarm, path down or role change in its log" % n.n)


HOOK = """#!/bin/sh
echo "$1 $HS_EVENT $HS_OLD_ROLE $HS_ROLE $HS_EPOCH $HS_REASON $HS_NODE_ID $HS_SLOT" >> "%(out)s"
env | sort > "%(out)s.env"
chrt -p $$ > "%(out)s.sched"
echo "hook says $HS_OLD_ROLE to $HS_ROLE"
echo "to stderr" >&2
"""

SLOW = """#!/bin/sh
sleep 60 &
echo "$!" > "%(out)s.child"
echo "$$" > "%(out)s.pid"
wait
"""


def write_script(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


@scenario
def sc_hooks(args):
    with make_bed("hooks") as bed:
        hookdir = os.path.join(bed.dir, "hooks")
        os.makedirs(hookdir)
        os.chmod(hookdir, 0o755)
        out = {}
        for n in (1, 2):
            out[n] = os.path.join(bed.dir, "hook%d.out" % n)
            write_script(os.path.join(hookdir, "role%d.sh" % n), HOOK % {"out": out[n]})
            write_script(os.path.join(hookdir, "slow%d.sh" % n), SLOW % {"out": out[n]})
            add_config(bed.nodes[n], "\n".join([
                "[hooks]",
                'on_role_change = ["%s", "node%d"]' % (os.path.join(hookdir, "role%d.sh" % n), n),
                'on_active = ["%s"]' % os.path.join(hookdir, "slow%d.sh" % n),
                "timeout_ms = 1500", ""]))
        notify = os.path.join(bed.dir, "notify.sock")
        ns = NotifySocket(notify)
        # Read it all along: sd_notify() blocks the sender once the socket's queue is full.
        threading.Thread(target=lambda: ns.drain(120), daemon=True).start()
        bed.start_infra()
        start_with_env(bed.nodes[1], {"NOTIFY_SOCKET": notify})
        bed.nodes[2].start()
        bed.wait_healthy()
        step("start: node1 INIT -> ACTIVE, node2 INIT -> STANDBY")
        ok = common.wait_for(lambda: os.path.exists(out[2]) and os.path.exists(out[1]), 10)
        expect(ok, "both hooks ran")
        mark = time.time()
        step("switchover")
        p = bed.nodes[1].hsctl("switchover")
        expect(p.returncode == 0, "hsctl switchover")
        expect(bed.wait_role(2, "ACTIVE"), "node2 ACTIVE")
        bed.wait_healthy()
        e1 = bed.nodes[1].status()["epoch"]

        def switched():
            l1 = common.read_text(out[1]).splitlines()
            l2 = common.read_text(out[2]).splitlines()
            return (l1 and l1[-1].split()[2:5] == ["ACTIVE", "STANDBY", str(e1)] and
                    l2 and l2[-1].split()[2:5] == ["STANDBY", "ACTIVE", str(e1)])
        ok = common.wait_for(switched, 10)
        lines = {n: common.read_text(out[n]).splitlines() for n in (1, 2)}
        print("    node1 hook: %s\n    node2 hook: %s" % (lines[1], lines[2]))
        expect(ok, "node1's hook saw ACTIVE -> STANDBY, node2's STANDBY -> ACTIVE, epoch %d" % e1)
        for n in (1, 2):
            w = [ln.split() for ln in lines[n]]
            expect(all(x[0] == "node%d" % n and x[1] == "role_change" and x[6:] == [
                str(n), str(n - 1)] for x in w), "node%d: argv, HS_EVENT, node id and slot" % n)
            expect(w[0][2] == "INIT", "node%d: the first change is from INIT" % n)
            expect(all(a[3] == b[2] for a, b in zip(w, w[1:])),
                   "node%d: in order, each from the role the previous one went to" % n)
        expect(lines[2][-1].split()[5] == "manual", "node2: reason manual")
        ok = common.wait_for(lambda: "HS_HOOK=" in common.read_text(out[1] + ".env"), 5)
        env = common.read_text(out[1] + ".env")
        expect(ok and "NOTIFY_SOCKET" not in env and "HS_HOOK=on_role_change" in env,
               "the hook's environment: the event, not the daemon's NOTIFY_SOCKET")
        # The hook writes .sched after .env: wait for it rather than read it half-written.
        common.wait_for(lambda: "SCHED_" in common.read_text(out[1] + ".sched"), 5)
        sched = common.read_text(out[1] + ".sched")
        expect("SCHED_OTHER" in sched, "the hook runs at normal priority, not the daemon's "
               "real-time one (%s)" % sched.strip().replace("\n", "; "))
        ok = common.wait_for(lambda: re.search(
            r'event=hook_output hook=on_role_change .*line="hook says ACTIVE to STANDBY"'
            r'(.|\n)*event=hook_done hook=on_role_change .*exit=0',
            bed.nodes[1].log_text()), 5)
        expect(ok and "to stderr" in bed.nodes[1].log_text(),
               "hook output (stdout and stderr) and its exit in the log")
        step("on_active (node2) outlives its 1.5 s timeout: killed with its child")
        ok = common.wait_for(lambda: re.search(r"event=hook_timeout hook=on_active",
                                               bed.nodes[2].log_text()), 10)
        expect(ok, "node2 logged hook_timeout")
        child = int(common.read_text(out[2] + ".child").split()[-1])
        ok = common.wait_for(lambda: not os.path.exists("/proc/%d" % child) or
                             "Z" in common.read_text("/proc/%d/stat" % child).split()[2], 5)
        expect(ok, "the hook's own child (sleep 60, pid %d) was killed too" % child)
        expect(not [ln for ln in bed.nodes[2].log_lines(since=mark) if "event=stall" in ln or
                    "event=path_down" in ln], "no stall or path down while hooks ran")
        st = bed.wait_healthy(timeout=5)
        expect(st[2]["role"] == "ACTIVE", "pair healthy, node2 ACTIVE")
        step("a world-writable hook is refused")
        bad = os.path.join(hookdir, "role1.sh")
        os.chmod(bad, 0o777)
        r = common.run([bed.daemon, "--check", "-c", bed.nodes[1].conf], check=False)
        expect(r.returncode == 78 and "writable by others" in r.stderr,
               "--check: exit 78, %s" % r.stderr.strip()[-160:])
        os.chmod(bad, 0o755)
        ns.close()


ENV_HOOK = """#!/bin/sh
{ env | grep '^HS_' | sort; echo "--"; } >> "%(out)s"
"""

STOP_HOOK = """#!/bin/sh
{ env | grep '^HS_' | sort; echo "--"; } >> "%(out)s"
exec sleep 60
"""


def hook_runs(path):
    """The runs an ENV_HOOK recorded: one {VAR: value} per run (runs end with a "--" line)."""
    runs = common.read_text(path).split("--\n")[:-1]
    return [dict(ln.split("=", 1) for ln in r.splitlines() if "=" in ln) for r in runs]


@scenario
def sc_chassis_hooks(args):
    with make_bed("chassis_hooks", with_bmc=True) as bed:
        hookdir = os.path.join(bed.dir, "hooks")
        os.makedirs(hookdir)
        os.chmod(hookdir, 0o755)
        ev_out = os.path.join(bed.dir, "chassis_event.out")
        stop_out = os.path.join(bed.dir, "stop.out")
        write_script(os.path.join(hookdir, "event.sh"), ENV_HOOK % {"out": ev_out})
        write_script(os.path.join(hookdir, "stop.sh"), STOP_HOOK % {"out": stop_out})
        add_config(bed.nodes[1], "\n".join([
            "[hooks]",
            'on_chassis_event = "%s"' % os.path.join(hookdir, "event.sh"),
            'on_stop = "%s"' % os.path.join(hookdir, "stop.sh"),
            "timeout_ms = 2000", ""]))
        bed.start()
        bed.wait_healthy()
        bed.wait_role(1, "ACTIVE")
        bed.wait_driving(1)
        n1 = bed.nodes[1]
        step("hsctl chassis power off on the active node")
        p = n1.hsctl("chassis", "power", "off")
        expect(p.returncode == 0, "hsctl chassis power off")
        expect(common.wait_for(lambda: bed.bmc.power() == "off", 10), "ipmi_sim: power off")

        def find(pred):
            return [r for r in hook_runs(ev_out) if pred(r)]
        ok = common.wait_for(lambda: find(lambda r: r.get("HS_EVENT") == "power_changed" and
                                          r.get("HS_POWER") == "off"), 10)
        runs = hook_runs(ev_out)
        print("    on_chassis_event runs: %s" % runs)
        expect(ok, "on_chassis_event ran with HS_EVENT=power_changed HS_POWER=off")
        r = find(lambda r: r.get("HS_EVENT") == "power_changed")[-1]
        expect(r.get("HS_HOOK") == "on_chassis_event" and r.get("HS_ROLE") == "ACTIVE" and
               r.get("HS_NODE_ID") == "1" and r.get("HS_SLOT") == "0" and
               r.get("HS_EPOCH", "").isdigit() and "HS_DETAIL" in r,
               "with the hook's name, role, node, slot, epoch and detail: %s" % r)
        step("CPU Temp 90 C at ipmi_sim (past upper critical)")
        bed.bmc.set_sensor(1, 90)
        ok = common.wait_for(lambda: find(lambda r: r.get("HS_EVENT") == "sensor_threshold"), 15)
        expect(ok, "on_chassis_event ran with HS_EVENT=sensor_threshold")
        r = find(lambda r: r.get("HS_EVENT") == "sensor_threshold")[-1]
        print("    %s" % r)
        expect(r.get("HS_SENSOR") == "CPU Temp" and r.get("HS_SENSOR_STATE") == "critical" and
               r.get("HS_SENSOR_INDEX") == "1" and float(r.get("HS_VALUE", "0")) >= 89,
               "sensor CPU Temp (index 1), state critical, value 90")
        step("SIGTERM node1: on_stop runs once, the daemon exits within its timeout")
        t0 = time.monotonic()
        rc = n1.child.stop(signal.SIGTERM, timeout=20)
        took = time.monotonic() - t0
        stops = hook_runs(stop_out)
        print("    on_stop runs: %s (exit %s after %.1f s)" % (stops, rc, took))
        expect(rc == 0, "exit 0 after a clean stop (%s)" % rc)
        expect(len(stops) == 1 and stops[0].get("HS_EVENT") == "stop" and
               stops[0].get("HS_ROLE") == "STOPPED" and stops[0].get("HS_LAST_ROLE") == "ACTIVE"
               and stops[0].get("HS_HOOK") == "on_stop" and stops[0].get("HS_NODE_ID") == "1",
               "on_stop ran once with HS_EVENT=stop HS_ROLE=STOPPED HS_LAST_ROLE=ACTIVE")
        expect(took < 15, "the 60 s hook was cut at its 2 s timeout (%.1f s)" % took)
        expect(re.search(r"event=hook_timeout hook=on_stop", n1.log_text()),
               "hook_timeout hook=on_stop logged")
        expect(bed.wait_role(2, "ACTIVE"), "node2 took over")


def ipmitool_lines(bed, *args):
    """ipmitool's own lines, trailing blanks and all (lanplus, cipher suite 3)."""
    b = bed.bmc
    p = subprocess.run(["ipmitool", "-I", "lanplus", "-H", b.host, "-p", str(b.port), "-U", b.user,
                        "-P", b.password, "-C", "3", "-N", "1", "-R", "2"] + list(args),
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        expect(False, "ipmitool %s: rc %d %s" % (" ".join(args), p.returncode, p.stderr))
    lines = p.stdout.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def ipmitool_sensors(bed):
    return ipmitool_lines(bed, "sensor", "list")


def same_view(bed, node, raw_cpu):
    """(ipmitool lines, hsctl lines) once the daemon has polled the BMC after the last change:
    two ipmitool reads around an hsctl read agree and CPU Temp shows raw_cpu."""
    seen = None
    for _ in range(60):
        a = ipmitool_sensors(bed)
        p = node.hsctl("sensor", "list")
        expect(p.returncode == 0, "hsctl sensor list")
        b = ipmitool_sensors(bed)
        h = p.stdout.split("\n")
        if h and h[-1] == "":
            h = h[:-1]
        seen = (a, h)
        if a == b and h == a:
            return seen
        time.sleep(0.2)
    return seen


@scenario
def sc_sensor_list(args):
    common.need_tools("ipmitool")
    with make_bed("sensors", with_bmc=True) as bed:
        bed.start()
        bed.wait_healthy()
        n1 = bed.nodes[1]
        ok = common.wait_for(lambda: len([s for s in n1.hsctl_json("sensor", "list")["sensors"]
                                          if s.get("value") is not None]) == 5, 20)
        expect(ok, "node1 has read the BMC's 5 sensors")
        for raw, status in ((35, "ok"), (80, "nc"), (90, "cr")):
            step("CPU Temp %d C (%s)" % (raw, status))
            bed.bmc.set_sensor(1, raw)
            ipmi, hs = same_view(bed, n1, raw)
            for ln in ipmi:
                print("    ipmitool |%s|" % ln)
            for ln in hs:
                print("    hsctl    |%s|" % ln)
            expect(len(ipmi) == 5 and len(hs) == len(ipmi), "5 lines each")
            for a, b in zip(ipmi, hs):
                ca, cb = a.split("|"), b.split("|")
                expect(len(ca) == 10, "ipmitool has 10 columns: %r" % a[:40])
                for i, (x, y) in enumerate(zip(ca, cb)):
                    if x != y:
                        expect(False, "column %d of %r: ipmitool %r, hsctl %r" % (
                            i + 1, ca[0].strip(), x, y))
                expect(a == b, "%s: identical line, 10 columns" % ca[0].strip())
            cpu = [ln for ln in hs if ln.startswith("CPU Temp")][0].split("|")
            expect(cpu[3].strip() == status and cpu[2].strip() == "degrees C",
                   "CPU Temp status %s, unit 'degrees C'" % cpu[3].strip())
        volts = [ln for ln in hs if ln.startswith("12V")][0].split("|")
        expect(volts[2].strip() == "Volts", "12V unit 'Volts' (a word, as ipmitool writes it)")


def chassis_view(bed, node, power):
    """(ipmitool lines, hsctl lines) of `chassis status` once they agree: two ipmitool reads
    around an hsctl read are equal, show System Power `power`, and hsctl's lines up to its blank
    line are ipmitool's."""
    seen = None
    for _ in range(60):
        a = ipmitool_lines(bed, "chassis", "status")
        p = node.hsctl("chassis", "status")
        expect(p.returncode == 0, "hsctl chassis status")
        b = ipmitool_lines(bed, "chassis", "status")
        h = p.stdout.split("\n")
        if h and h[-1] == "":
            h = h[:-1]
        seen = (a, h)
        if a == b and a and a[0].endswith(": " + power) and h[:len(a)] == a:
            return seen
        time.sleep(0.2)
    return seen


@scenario
def sc_chassis_status(args):
    common.need_tools("ipmitool")
    with make_bed("chassis", with_bmc=True) as bed:
        bed.start()
        bed.wait_healthy()
        bed.wait_role(1, "ACTIVE")
        bed.wait_driving(1)
        n1 = bed.nodes[1]
        for power in ("on", "off"):
            if power == "off":
                p = n1.hsctl("chassis", "power", "off")
                expect(p.returncode == 0 and "Down/Off" in p.stdout,
                       "node1 (active): hsctl chassis power off")
                expect(common.wait_for(lambda: bed.bmc.power() == "off", 10),
                       "ipmitool sees the chassis power off")
            step("chassis power %s" % power)
            ipmi, hs = chassis_view(bed, n1, power)
            for ln in ipmi:
                print("    ipmitool |%s|" % ln)
            for ln in hs:
                print("    hsctl    |%s|" % ln)
            expect(len(ipmi) >= 11, "ipmitool printed its %d chassis status lines" % len(ipmi))
            expect(ipmi[0] == "System Power         : %s" % power,
                   "ipmitool: System Power %s" % power)
            expect(len(hs) > len(ipmi), "hsctl printed at least as many lines")
            for i, (x, y) in enumerate(zip(ipmi, hs)):
                expect(x == y, "line %d identical: ipmitool %r, hsctl %r" % (i + 1, x, y))
            own = hs[len(ipmi):]
            expect(own[0] == "", "a blank line ends ipmitool's block")
            names = [ln.split(":", 1)[0].strip() for ln in own[1:]]
            expect("BMC Access" in names and "Fan Profile" in names,
                   "then the daemon's own fields: %s" % names)
            expect(not set(names) & {ln.split(":", 1)[0].strip() for ln in ipmi},
                   "no field name of the daemon's block repeats one of ipmitool's")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon")
    ap.add_argument("--hsctl")
    ap.add_argument("--plugin")
    ap.add_argument("--source-dir")
    ap.add_argument("--scenario")
    ap.add_argument("--list", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.list:
        print("\n".join(sorted(SCENARIOS)))
        return 0
    try:
        SCENARIOS[ARGS.scenario](ARGS)
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except Failure as e:
        print("FAILED: %s" % e)
        return 1
    except Exception:
        traceback.print_exc()
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
