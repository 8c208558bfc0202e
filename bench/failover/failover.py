#!/usr/bin/env python3
"""bench/failover: failover time, false switchovers under single-path cuts and CPU load, and the
steady cost of one daemon. Uses the namespace rig of tests/fixtures/rig (needs root). Prints:

  failover path=both interval_ms=I misses=N trials=T median_ms=X p99_ms=Y max_ms=Z false_switchovers=F
  (with --paths other than net,serial: path=ether+serial and so on, the paths joined by '+')
  stress interval_ms=10 seconds=60 false_switchovers=F path_flaps=P realtime=off|on
  steady interval_ms=10 cpu_pct=C rss_mb=M

Failover time: kill -9 of the ACTIVE at a random phase of the heartbeat interval, to the first log
line of the standby announcing role=ACTIVE (the daemon's own log timestamp, millisecond resolution,
same machine clock as the kill). If no such line is found, the first status poll reporting ACTIVE.
A trial with no takeover within 5 s counts in trials but not in the times (and is reported).
Between trials, single-path cuts (network link down, network one direction dropped, serial cable
pulled) are held for several detection times; any takeover during them is a false switchover.

  failover.py [--build-dir DIR] [--quick] [--trials T] [--intervals 5,10,50,100]
              [--stress-seconds S] [--no-stress] [--no-steady] [--no-failover]
              [--paths net,serial]    (the failover run's paths: any of net (UDP), ether, serial)
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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures", "rig"))
import rig as R  # noqa: E402

ROLE_ACTIVE_RX = r"(?i)event=role_change\b.*(?<![\w.])role=ACTIVE\b"
# A log line reporting one of this node's paths going down (counted as a flap under stress).
PATH_DOWN_RX = re.compile(r"event=path_down\b")


def err(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


# --paths words and the rig's path names.
PATH_NAMES = {"net": "net0", "ether": "l2", "serial": "serial0"}


def takeovers(tl, mark):
    return [e for e in tl.role_changes(mark) if e[4] == "ACTIVE"]


def single_path_cuts(rig, tl, hold_s, trial, paths=("net", "serial"), events=None):
    """Runs the single-path cuts that leave a path up; returns the number of takeovers seen
    during them (and appends (kind, takeover) to EVENTS when given). The link cut (veth down)
    takes the net and ether paths at once."""
    false = 0
    kinds = []
    if "serial" in paths and ("net" in paths or "ether" in paths):
        kinds.append("link")
    if "net" in paths and len(paths) > 1:
        kinds.append("oneway")
    if "ether" in paths and len(paths) > 1:
        kinds.append("ether_oneway")
    if "serial" in paths and len(paths) > 1:
        kinds.append("serial")
    names = [PATH_NAMES[p] for p in paths]
    node = 1 + trial % 2
    for kind in kinds:
        mark = tl.mark()
        if kind == "link":
            rig.cut_net(node)
        elif kind == "oneway":
            rig.cut_net_oneway(node, "output" if trial % 3 else "input")
        elif kind == "ether_oneway":
            rig.cut_ether_oneway(node, "egress" if trial % 3 else "ingress")
        else:
            rig.cut_serial()
        time.sleep(hold_s)
        if kind == "link":
            rig.heal_net()
        elif kind == "oneway":
            rig.nft_clear(node)
        elif kind == "ether_oneway":
            rig.ether_clear(node)
        else:
            rig.heal_serial()
        if not R.wait_for(lambda: rig.healthy(paths=names), 15, interval=0.01):
            err("  warning: pair not healthy 15 s after healing the %s cut: %s" %
                (kind, rig.roles()))
        t = takeovers(tl, mark)
        if t:
            err("  FALSE SWITCHOVER during %s cut: %s" % (kind, t))
            save_logs(rig, "false-%s-trial%d" % (kind, trial))
            if events is not None:
                events.extend((kind, e) for e in t)
        false += len(t)
    return false


def save_logs(rig, tag):
    """Keeps both daemons' logs of an anomaly in $HS_BENCH_LOGS (default /tmp/hs-bench-logs)."""
    d = os.environ.get("HS_BENCH_LOGS", "/tmp/hs-bench-logs")
    os.makedirs(d, exist_ok=True)
    for n in (1, 2):
        dst = os.path.join(d, "%s-%s-node%d.log" % (rig.test_id, tag, n))
        shutil.copyfile(rig.nodes[n].log_path, dst)
    err("  logs kept in %s/%s-%s-node*.log" % (d, rig.test_id, tag))


def one_failover(rig, tl, interval_ms, names=("net0", "serial0")):
    st = rig.healthy(paths=names)
    if not st:
        st = rig.wait_healthy(timeout=15, paths=names)
    active = 1 if st[1]["role"] == "ACTIVE" else 2
    standby = 3 - active
    node_a, node_s = rig.nodes[active], rig.nodes[standby]
    time.sleep(random.uniform(0, interval_ms / 1000.0))  # random phase
    t0 = time.time()
    os.kill(node_a.pid, signal.SIGKILL)
    ok = R.wait_for(lambda: node_s.role() == "ACTIVE", 5.0, interval=0.001)
    node_a.reap(timeout=5)
    d = None
    if ok:
        t_log = node_s.first_log_time(ROLE_ACTIVE_RX, since=t0 - 0.002)
        if t_log is not None:
            d = t_log - t0
        else:
            t_poll = tl.first_role(standby, "ACTIVE", t0)
            d = (t_poll or time.time()) - t0
    node_a.start()
    if not R.wait_for(lambda: rig.healthy(paths=names), 20, interval=0.01):
        err("  warning: node%d did not rejoin: %s" % (active, rig.roles()))
    return d


def bench_failover(args, interval_ms, trials, n=3):
    paths = args.paths
    names = tuple(PATH_NAMES[p] for p in paths)
    label = "both" if sorted(paths) == ["net", "serial"] else "+".join(paths)
    detect = n * interval_ms / 1000.0
    hold = max(0.3, 4 * detect) if not args.quick else max(0.2, 3 * detect)
    times, misses_none, false = [], 0, 0
    # The daemon refuses a serial interval shorter than a frame's wire time (~7 ms at 115200).
    baud = 115200 if interval_ms >= 8 else 460800
    if baud != 115200:
        err("  interval %d ms: serial path at %d baud (a frame takes ~7 ms at 115200)" %
            (interval_ms, baud))
    no_serial = {"serial": False} if "serial" not in paths else {}
    with R.Rig("bfo%d" % interval_ms, build_dir=args.build_dir, interval_ms=interval_ms, miss=n,
               recovery=3, init_dead_ms=max(1000, 10 * interval_ms), baud=baud,
               net="net" in paths, ether="ether" in paths,
               node_overrides={1: dict(no_serial), 2: dict(no_serial)}) as rig:
        rig.start_nodes()
        rig.wait_healthy(timeout=20, paths=names)
        tl = rig.timeline(period=0.003)
        try:
            for trial in range(trials):
                false += single_path_cuts(rig, tl, hold, trial, paths)
                mark = tl.mark()
                d = one_failover(rig, tl, interval_ms, names)
                # Only one takeover is expected from the kill (the standby's).
                extra = len(takeovers(tl, mark)) - 1
                if extra > 0:
                    err("  %d extra takeover(s) around trial %d" % (extra, trial))
                    false += extra
                if d is None:
                    misses_none += 1
                    err("  trial %d: NO takeover within 5 s" % trial)
                else:
                    times.append(d * 1000)
                    err("  interval %d ms trial %d: %.1f ms" % (interval_ms, trial, d * 1000))
        finally:
            tl.stop()
    if misses_none:
        err("  %d of %d trials without takeover" % (misses_none, trials))
    med = statistics.median(times) if times else float("nan")
    print("failover path=%s interval_ms=%d misses=%d trials=%d median_ms=%.1f p99_ms=%.1f "
          "max_ms=%.1f false_switchovers=%d" % (label, interval_ms, n, trials, med, pct(times, 99),
                                                max(times) if times else float("nan"), false),
          flush=True)


def count_path_downs(node, since):
    return sum(1 for ln in node.log_lines(since=since) if PATH_DOWN_RX.search(ln))


def bench_stress(args, seconds, realtime):
    if not shutil.which("stress-ng"):
        err("stress-ng not found: skipping the stress run")
        return
    with R.Rig("bst%d" % int(realtime), build_dir=args.build_dir, interval_ms=10, miss=3,
               recovery=3, init_dead_ms=1000, realtime=realtime) as rig:
        rig.start_nodes()
        rig.wait_healthy(timeout=20)
        tl = rig.timeline(period=0.005)
        mark = tl.mark()
        t0 = time.time()
        cpus = str(os.cpu_count() or 2)
        stress = subprocess.Popen(["stress-ng", "--cpu", cpus, "--timeout", "%ds" % seconds,
                                   "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rig.children.append(stress)
        try:
            stress.wait(timeout=seconds + 30)
        finally:
            tl.stop()
        false = len(takeovers(tl, mark))
        if false:
            save_logs(rig, "stress-rt%d" % int(realtime))
        polled = sum(1 for e in tl.since(mark) if e[2].startswith("path:") and e[4] == "down")
        logged = sum(count_path_downs(rig.nodes[k], t0) for k in (1, 2))
        flaps = max(polled, logged)
        dead = rig.check_alive()
        if dead:
            err("  nodes died during stress: %s" % dead)
        err("  stress realtime=%s: role changes %s; path downs polled=%d logged=%d" % (
            realtime, [(e[1], e[3], e[4]) for e in tl.role_changes(mark)], polled, logged))
        print("stress interval_ms=10 seconds=%d false_switchovers=%d path_flaps=%d realtime=%s" % (
            seconds, false, flaps, "on" if realtime else "off"), flush=True)


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def bench_steady(args, seconds):
    with R.Rig("bsteady", build_dir=args.build_dir, interval_ms=10, miss=3, recovery=3,
               init_dead_ms=1000) as rig:
        rig.start_nodes()
        rig.wait_healthy(timeout=20)
        st = rig.statuses()
        active = 1 if st[1]["role"] == "ACTIVE" else 2
        pid = rig.nodes[active].pid
        time.sleep(1.0)
        hz = os.sysconf("SC_CLK_TCK")
        c0, w0 = proc_cpu_ticks(pid), time.monotonic()
        rss = []
        end = w0 + seconds
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            rss.append(proc_rss_mb(pid))
        c1, w1 = proc_cpu_ticks(pid), time.monotonic()
        cpu = (c1 - c0) / hz / (w1 - w0) * 100.0
        other = rig.nodes[3 - active].pid
        err("  steady: active pid %d; standby RSS %.1f MB" % (pid, proc_rss_mb(other)))
        print("steady interval_ms=10 cpu_pct=%.2f rss_mb=%.1f" % (cpu, max(rss)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-dir", default=R.default_build_dir())
    ap.add_argument("--quick", action="store_true", help="short run (few trials, short stress)")
    ap.add_argument("--trials", type=int)
    ap.add_argument("--intervals", default="5,10,50,100")
    ap.add_argument("--stress-seconds", type=int)
    ap.add_argument("--steady-seconds", type=int)
    ap.add_argument("--no-failover", action="store_true")
    ap.add_argument("--no-stress", action="store_true")
    ap.add_argument("--no-steady", action="store_true")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--paths", default="net,serial",
                    help="the failover run's paths, comma separated: net (UDP), ether, serial")
    args = ap.parse_args()
    args.paths = [p for p in args.paths.split(",") if p]
    if not args.paths or any(p not in PATH_NAMES for p in args.paths) or \
            len(set(args.paths)) != len(args.paths):
        err("--paths: a comma separated list of distinct net, ether, serial")
        return 2
    if not R.is_root():
        err("bench/failover needs root (network namespaces)")
        return 77
    random.seed(args.seed)
    trials = args.trials or (5 if args.quick else 20)
    stress_s = args.stress_seconds or (10 if args.quick else 60)
    steady_s = args.steady_seconds or (3 if args.quick else 10)
    err("bench/failover: build %s, trials %d, stress %d s, steady %d s" % (
        args.build_dir, trials, stress_s, steady_s))
    failed = 0

    def guarded(what, fn, *a, **kw):
        nonlocal failed
        try:
            fn(*a, **kw)
        except Exception as e:  # one broken setting must not hide the others
            failed += 1
            err("  %s FAILED: %s: %s" % (what, type(e).__name__, e))
            print("error %s %s" % (what, str(e).splitlines()[0] if str(e) else type(e).__name__),
                  flush=True)

    if not args.no_failover:
        for i in [int(x) for x in args.intervals.split(",") if x]:
            guarded("failover interval_ms=%d" % i, bench_failover, args, i, trials)
    if not args.no_stress:
        guarded("stress realtime=off", bench_stress, args, stress_s, realtime=False)
        guarded("stress realtime=on", bench_stress, args, stress_s, realtime=True)
    if not args.no_steady:
        guarded("steady", bench_steady, args, steady_s)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
