#!/usr/bin/env python3
"""bench/compare: hotstandby and keepalived side by side, in the same run, interleaved.

Both run at the same time in their own pair of network namespaces of the same kind (a veth pair;
hotstandby also has its socat pty serial cable, the rig of tests/fixtures/rig), so every trial of
one meets the machine as the other's neighbouring trial does. Trials alternate (hs, ka, hs, ka...).

  compare interval_ms=10 hs_median_ms=A ka_median_ms=B ratio=R hs_p99_ms= ka_p99_ms= hs_false=F ka_false=G trials=T
  compare steady paths=udp hs_cpu_pct=C ka_cpu_pct=D cpu_ratio=R hs_rss_mb= ka_rss_mb= rounds=K
  compare steady paths=udp+serial hs_cpu_pct=C ka_cpu_pct=D cpu_ratio=R hs_rss_mb= ka_rss_mb= rounds=K

ratio: the median of the per-trial ratios hs_i / ka_i (trial i of each, run back to back), not the
ratio of the medians: on these VMs a baseline can shift between runs, a pair of neighbours cannot.
cpu_ratio likewise, per round of simultaneous measurement.

Failover time: SIGKILL of the active at a random phase of the interval (hotstandby: the daemon;
keepalived: its whole process group, parent and VRRP child at once, so that no priority-0 advert
is sent), to:
  - hotstandby: the standby's own `event=role_change ... role=ACTIVE` log line (ms resolution);
  - keepalived: the kernel's RTM_NEWADDR for the virtual address in the backup's namespace, as
    `ip -ts monitor address` timestamps it (us resolution): the moment the address is usable.
keepalived: VRRPv3, unicast, advert_int = the interval (0.01 s is its minimum), nopreempt,
priority 200 on both (skew time 0.22 intervals), one virtual address.

False switchovers: takeovers during single-path cuts held for max(0.3 s, 4 detection times).
hotstandby (UDP + serial): veth down, UDP one way dropped, serial cable pulled; none should take
over. keepalived (one path): veth down and one way dropped; its backup taking over there is the
expected, honest result of a one-path design (counted, not hidden).

Steady: CPU (every thread's run time as the scheduler counts it, /proc/PID/task/*/schedstat, exact
where /proc/PID/stat moves in clock ticks) over --steady-seconds and VmRSS of hotstandby's active
daemon and of keepalived's master (parent + VRRP child), measured over the same window, K rounds;
with one UDP path for hotstandby (the same paths as keepalived) and with its usual UDP + serial.

  run.py [--build-dir DIR] [--interval-ms 10] [--trials 20] [--steady-seconds 10]
         [--steady-rounds 3] [--no-failover] [--no-steady] [--seed S]
Needs root and keepalived (Debian package; `scripts/install-deps.sh` installs it).
"""

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "failover"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures", "rig"))
import failover as F  # noqa: E402
import rig as R  # noqa: E402

# keepalived's pair: TEST-NET-3, used only inside the namespaces this script creates.
KA_NET = "203.0.113"
KA_VIP = KA_NET + ".100"
KA_DEV = "hka0"
MON_RX = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\]\s+(Deleted\s+)?\d+:\s+(\S+)\s+"
                    r"inet\s+([0-9.]+)/")


def err(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def median_ratio(a, b):
    r = [x / y for x, y in zip(a, b) if x is not None and y and y > 0]
    return statistics.median(r) if r else float("nan")


class AddrMonitor:
    """`ip -ts monitor address` in one namespace: (unix time, added?, address) per event."""

    def __init__(self, ns):
        self.events = []
        self.lock = threading.Lock()
        self.p = subprocess.Popen(["stdbuf", "-oL", "ip", "-n", ns, "-ts", "monitor", "address"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            m = MON_RX.match(line)
            if not m:
                continue
            ts = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            with self.lock:
                self.events.append((ts, m.group(2) is None, m.group(4)))

    def first_add(self, addr, since):
        with self.lock:
            for ts, added, a in self.events:
                if added and a == addr and ts >= since:
                    return ts
        return None

    def stop(self):
        self.p.kill()
        self.p.wait()


class KaPair:
    """Two keepalived in two namespaces joined by a veth pair."""

    def __init__(self, interval_ms):
        pid = os.getpid()
        self.ns = {1: "hska_%d_a" % pid, 2: "hska_%d_b" % pid}
        self.dir = tempfile.mkdtemp(prefix="hs-compare-ka-")
        self.interval = interval_ms / 1000.0
        self.procs = {}
        self.mon = {}
        self.nft = {1: False, 2: False}
        for n in (1, 2):
            run(["ip", "netns", "add", self.ns[n]])
            run(["ip", "-n", self.ns[n], "link", "set", "lo", "up"])
        run(["ip", "link", "add", KA_DEV, "netns", self.ns[1], "type", "veth", "peer", "name",
             KA_DEV, "netns", self.ns[2]])
        for n in (1, 2):
            run(["ip", "-n", self.ns[n], "addr", "add", "%s.%d/24" % (KA_NET, n), "dev", KA_DEV])
            run(["ip", "-n", self.ns[n], "link", "set", KA_DEV, "up"])
            self.mon[n] = AddrMonitor(self.ns[n])
            self._write_conf(n)

    def _write_conf(self, n):
        conf = """global_defs {
    router_id hscmp%d
    vrrp_version 3
    enable_script_security
    vrrp_garp_master_delay 0
}
vrrp_instance hscmp {
    state BACKUP
    nopreempt
    interface %s
    virtual_router_id 77
    priority 200
    advert_int %.2f
    unicast_src_ip %s.%d
    unicast_peer {
        %s.%d
    }
    virtual_ipaddress {
        %s/24 dev %s
    }
}
""" % (n, KA_DEV, self.interval, KA_NET, n, KA_NET, 3 - n, KA_VIP, KA_DEV)
        with open(self.conf(n), "w") as f:
            f.write(conf)

    def conf(self, n):
        return os.path.join(self.dir, "ka%d.conf" % n)

    def start(self, n):
        log = open(os.path.join(self.dir, "ka%d.log" % n), "a")
        d = self.dir
        # The pid files of a SIGKILLed instance: its VRRP child may linger as a zombie not yet
        # reaped, and keepalived would refuse to start ("daemon is already running").
        for f in ("ka%d.pid", "ka%d.vrrp.pid", "ka%d.chk.pid"):
            try:
                os.unlink(os.path.join(d, f % n))
            except FileNotFoundError:
                pass
        self.procs[n] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns[n], "keepalived", "-n", "-l", "-D", "-P",
             "-f", self.conf(n), "-p", os.path.join(d, "ka%d.pid" % n),
             "-r", os.path.join(d, "ka%d.vrrp.pid" % n),
             "-c", os.path.join(d, "ka%d.chk.pid" % n)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self, n):
        """The keepalived processes of node n (parent and VRRP child)."""
        p = self.procs.get(n)
        if p is None or p.poll() is not None:
            return []
        out = run(["pgrep", "-g", str(p.pid)], check=False).stdout.split()
        return [int(x) for x in out]

    def kill(self, n):
        os.killpg(self.procs[n].pid, signal.SIGKILL)
        self.procs[n].wait()
        # A SIGKILLed keepalived leaves its address configured: clean up as a restart would.
        run(["ip", "-n", self.ns[n], "addr", "del", KA_VIP + "/24", "dev", KA_DEV], check=False)

    def holders(self):
        out = []
        for n in (1, 2):
            s = run(["ip", "-n", self.ns[n], "-o", "addr", "show", "dev", KA_DEV]).stdout
            if (" %s/" % KA_VIP) in s:
                out.append(n)
        return out

    def wait_settled(self, timeout=20.0):
        """One holder of the address, stable for 0.3 s, both daemons running."""
        end = time.time() + timeout
        stable_since, last = None, None
        while time.time() < end:
            h = self.holders()
            ok = len(h) == 1 and all(self.pids(n) for n in (1, 2))
            if ok and h == last:
                stable_since = stable_since or time.time()
                if time.time() - stable_since >= 0.3:
                    return h[0]
            else:
                stable_since = None
            last = h
            time.sleep(0.01)
        raise RuntimeError("keepalived pair did not settle: holders %s" % self.holders())

    def cut(self, n, kind, trial):
        if kind == "link":
            run(["ip", "-n", self.ns[n], "link", "set", KA_DEV, "down"])
        else:
            hook = "output" if trial % 3 else "input"
            script = ("add table inet hscmp\n"
                      "add chain inet hscmp c { type filter hook %s priority 0; policy accept; }\n"
                      "add rule inet hscmp c ip protocol vrrp drop\n" % hook)
            run(["ip", "netns", "exec", self.ns[n], "nft", "-f", "-"], input=script)
            self.nft[n] = True

    def heal(self, n, kind):
        if kind == "link":
            run(["ip", "-n", self.ns[n], "link", "set", KA_DEV, "up"])
        elif self.nft[n]:
            run(["ip", "netns", "exec", self.ns[n], "nft", "delete", "table", "inet", "hscmp"],
                check=False)
            self.nft[n] = False

    def close(self):
        for n in (1, 2):
            p = self.procs.get(n)
            if p and p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
            if n in self.mon:
                self.mon[n].stop()
        for n in (1, 2):
            run(["ip", "netns", "del", self.ns[n]], check=False)
        if os.environ.get("HS_COMPARE_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            err("  keepalived files kept in %s" % self.dir)


def ka_failover(ka, interval_s):
    master = ka.wait_settled()
    backup = 3 - master
    time.sleep(random.uniform(0, interval_s))
    t0 = time.time()
    ka.kill(master)
    ok = R.wait_for(lambda: ka.mon[backup].first_add(KA_VIP, t0) is not None, 5.0,
                    interval=0.001)
    d = ka.mon[backup].first_add(KA_VIP, t0) - t0 if ok else None
    ka.start(master)
    ka.wait_settled()
    return d


def ka_cuts(ka, hold_s, trial):
    """Single-path cuts of keepalived's one path; returns the takeovers they caused."""
    false = 0
    for kind in ("link", "oneway"):
        master = ka.wait_settled()
        backup = 3 - master
        node = 1 + trial % 2
        t0 = time.time()
        ka.cut(node, kind, trial)
        time.sleep(hold_s)
        ka.heal(node, kind)
        if ka.mon[backup].first_add(KA_VIP, t0) is not None:
            false += 1
        ka.wait_settled()
    return false


def proc_stat(pid):
    try:
        return F.proc_cpu_ticks(pid), F.proc_rss_mb(pid)
    except OSError:
        return 0, 0.0


def cpu_ns(pid):
    """CPU time of every thread of pid in ns, as the scheduler counts it (exact, where the
    utime/stime of /proc/PID/stat move in clock ticks: 0.1 % of a core over 10 s is one tick)."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
    except OSError:
        pass  # a thread (or the process) went away meanwhile
    return total


def steady_round(rig, ka, seconds):
    st = rig.statuses()
    active = 1 if st[1]["role"] == "ACTIVE" else 2
    hs_pid = rig.nodes[active].pid
    master = ka.wait_settled()
    ka_pids = ka.pids(master)
    h0 = cpu_ns(hs_pid)
    k0 = sum(cpu_ns(p) for p in ka_pids)
    w0 = time.monotonic()
    hs_rss, ka_rss = [], []
    end = w0 + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        hs_rss.append(proc_stat(hs_pid)[1])
        ka_rss.append(sum(proc_stat(p)[1] for p in ka_pids))
    w = time.monotonic() - w0
    h1 = cpu_ns(hs_pid)
    k1 = sum(cpu_ns(p) for p in ka_pids)
    return ((h1 - h0) / 1e9 / w * 100.0, (k1 - k0) / 1e9 / w * 100.0, max(hs_rss), max(ka_rss))


def hs_rig(args, tag, serial=True):
    paths = {} if serial else {"serial": False}
    return R.Rig(tag, build_dir=args.build_dir, interval_ms=args.interval_ms, miss=3, recovery=3,
                 init_dead_ms=max(1000, 10 * args.interval_ms),
                 node_overrides={1: dict(paths), 2: dict(paths)})


def bench_steady(args, ka):
    for serial in (False, True):
        label = "udp+serial" if serial else "udp"
        names = ("net0", "serial0") if serial else ("net0",)
        with hs_rig(args, "cst%d" % int(serial), serial=serial) as rig:
            rig.start_nodes()
            rig.wait_healthy(timeout=20, paths=names)
            time.sleep(1.0)
            rounds = [steady_round(rig, ka, args.steady_seconds)
                      for _ in range(args.steady_rounds)]
        for r in rounds:
            err("  steady %s round: hs %.2f %% ka %.2f %%" % (label, r[0], r[1]))
        hs_cpu = statistics.median(r[0] for r in rounds)
        ka_cpu = statistics.median(r[1] for r in rounds)
        ratio = median_ratio([r[0] for r in rounds], [r[1] for r in rounds])
        print("compare steady paths=%s hs_cpu_pct=%.2f ka_cpu_pct=%.2f cpu_ratio=%.2f "
              "hs_rss_mb=%.1f ka_rss_mb=%.1f rounds=%d" % (
                  label, hs_cpu, ka_cpu, ratio, max(r[2] for r in rounds),
                  max(r[3] for r in rounds), len(rounds)), flush=True)


def bench_failover(args, ka):
    interval_s = args.interval_ms / 1000.0
    hold = max(0.3, 4 * 3 * interval_s)
    names = ("net0", "serial0")
    hs_times, ka_times = [], []
    hs_false = ka_false = 0
    with hs_rig(args, "cfo%d" % args.interval_ms) as rig:
        rig.start_nodes()
        rig.wait_healthy(timeout=20, paths=names)
        tl = rig.timeline(period=0.003)
        try:
            for trial in range(args.trials):
                # hotstandby: cuts, then a kill
                hs_false += F.single_path_cuts(rig, tl, hold, trial, ("net", "serial"))
                mark = tl.mark()
                d = F.one_failover(rig, tl, args.interval_ms, names)
                extra = len(F.takeovers(tl, mark)) - 1
                if extra > 0:
                    hs_false += extra
                hs_times.append(None if d is None else d * 1000)
                # keepalived: cuts, then a kill
                ka_false += ka_cuts(ka, hold, trial)
                k = ka_failover(ka, interval_s)
                ka_times.append(None if k is None else k * 1000)
                err("  trial %d: hs %s ms, ka %s ms" % (
                    trial, "-" if d is None else "%.1f" % (d * 1000),
                    "-" if k is None else "%.1f" % (k * 1000)))
        finally:
            tl.stop()
    hs_ok = [x for x in hs_times if x is not None]
    ka_ok = [x for x in ka_times if x is not None]
    nan = float("nan")
    print("compare interval_ms=%d hs_median_ms=%.1f ka_median_ms=%.1f ratio=%.2f hs_p99_ms=%.1f "
          "ka_p99_ms=%.1f hs_false=%d ka_false=%d trials=%d" % (
              args.interval_ms, statistics.median(hs_ok) if hs_ok else nan,
              statistics.median(ka_ok) if ka_ok else nan, median_ratio(hs_times, ka_times),
              F.pct(hs_ok, 99), F.pct(ka_ok, 99), hs_false, ka_false, args.trials), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-dir", default=R.default_build_dir())
    ap.add_argument("--interval-ms", type=int, default=10)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--steady-seconds", type=float, default=10.0)
    ap.add_argument("--steady-rounds", type=int, default=3)
    ap.add_argument("--no-failover", action="store_true")
    ap.add_argument("--no-steady", action="store_true")
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    if not R.is_root():
        err("bench/compare needs root (network namespaces)")
        return 77
    if not shutil.which("keepalived"):
        err("bench/compare: keepalived not installed (scripts/install-deps.sh installs it)")
        return 77
    if args.interval_ms < 10:
        err("bench/compare: keepalived's shortest advert interval is 10 ms")
        return 2
    random.seed(args.seed)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so that the namespaces and keepalived go too.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signo, _frame: sys.exit(128 + signo))
    R.reap_stale_namespaces()
    ka = KaPair(args.interval_ms)
    try:
        ka.start(1)
        time.sleep(0.2)
        ka.start(2)
        ka.wait_settled()
        if not args.no_failover:
            bench_failover(args, ka)
        if not args.no_steady:
            bench_steady(args, ka)
    finally:
        ka.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
