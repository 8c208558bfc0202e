#!/usr/bin/env python3
"""bench/curve: detection time against false switchovers, per interval, multiplier, load and
real-time mode. A benchmark (needs root; long: see --help), not a test.

For every point (interval_ms x misses x load x realtime) it starts the namespace rig of
tests/fixtures/rig (two hotstandbyd, UDP over a veth pair, a socat pty pair as the serial cable),
applies the load, then:
  1. path cuts: single-path cuts (veth down, UDP dropped one way, serial pulled), each held for
     --hold-seconds, until --cut-seconds of cut time are spent; any takeover during a cut is a false
     switchover (the other path still carries heartbeats). The cut time is what the rate is per:
     false switchovers per path-cut-minute, with the minutes, because zero in a few minutes is all
     a bench can show, not zero per hour.
  2. kills: --trials SIGKILLs of the active at a random phase; detection = kill to the standby's
     role=ACTIVE log line (as bench/failover).
Beside every point run two probes, independent witnesses of the bed and of the machine:
  - tests/fixtures/rig/pty_latency.py --background: a second socat pty pair of its own
    (real-time like the rig's) with a probe at SCHED_FIFO timing messages through it every 2 ms;
  - tests/fixtures/rig/rt_latency.py: a process at the daemons' SCHED_FIFO priority waking every
    1 ms and recording how late it woke (a small cyclictest).
A false switchover is counted as not ours (false_bed) when, in the detection window before the
takeover, the pty probe saw its own cable hold a message back (misses - 1) x interval or more
(only for a cut that left the serial line as the one path) or the real-time probe woke that late.
The bed's own cable runs at real-time priority whatever the daemons' mode (--bed-rt on, the
default; the bed is not what is measured): socat at SCHED_FIFO 10, and the kernel's tty
flip-buffer work that carries a pty's bytes, run by unbound kworkers, held at SCHED_FIFO 1 while
the cable is open (tests/fixtures/bed/common.py KworkerBoost; beside a loaded machine the pty
probe's p99 went 3.2-3.6 ms -> 0.25 ms, max 10-17 -> 7-9 ms). --bed-rt off: socat and the
kworkers at ordinary priority, to show what the bed alone does.
Each daemon's `event=stall` lines (its timers fired late) are counted (daemon_stalls), and those
during which the real-time probe also woke 5 ms late or more (daemon_stalls_host): the host held
every real-time thread back then, not only the daemon's.

Prints one line per point:

  curve interval_ms=I misses=N load=L realtime=on|off bed_rt=on|off trials=T median_ms=X p99_ms=Y false=F cut_minutes=M false_per_cut_min=R false_bed=B pty_max_ms=P pty_stalls=S rt_max_ms=W daemon_stalls=D daemon_stalls_host=H

(pty_stalls: the pty probe's messages held back for (misses - 1) x interval or more).

and writes the points to --out-dir (curve.csv, and curve.png drawn by gnuplot from the CSV).

Loads:
  idle   nothing besides the rig
  cpu    stress-ng --cpu <ncpu>: every core saturated
  io     stress-ng --iomix 1 --hdd 1: I/O pressure like a build's
  build  a parallel build of this project (cmake --build -j<ncpu> of a fresh build tree of the
         source, again and again), the load the false switchovers of docs/performance.md came from
  netem  1 % loss on the UDP path and a 50 ms spike every 2 s on it. This kernel has no sch_netem
         (CONFIG_NET_SCH_NETEM is not set), so both are nftables rules in node 1's namespace:
         `numgen random mod 100 < 1 drop` for the loss, and the spike is a 50 ms blackout of the
         path (frames sent during it are dropped rather than delivered late: for failure
         detection the gap is the same)

  run.py [--build-dir DIR] [--intervals 5,10,20,50] [--misses 3,5]
         [--loads idle,cpu,io,build,netem] [--realtime off,on] [--trials 10]
         [--cut-seconds 60] [--hold-seconds 5] [--bed-rt on|off] [--out-dir bench/curve/out]
         [--plot-only]
"""

import argparse
import csv
import datetime
import json
import os
import re
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "failover"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "rig"))
import failover as F  # noqa: E402
import rig as R  # noqa: E402

FIELDS = ["interval_ms", "misses", "load", "realtime", "bed_rt", "trials", "median_ms", "p99_ms", "false",
          "cut_minutes", "false_per_cut_min", "false_bed", "pty_max_ms", "pty_stalls", "rt_max_ms",
          "daemon_stalls", "daemon_stalls_host"]
PTY_PROBE = os.path.join(ROOT, "tests", "fixtures", "rig", "pty_latency.py")
RT_PROBE = os.path.join(ROOT, "tests", "fixtures", "rig", "rt_latency.py")


class Probe:
    """A probe process for one point (tests/fixtures/rig/pty_latency.py --background: the bed's
    serial latency on a cable of its own; rt_latency.py: the machine's real-time wake-up
    latency at the daemons' priority); its JSON result at stop()."""

    def __init__(self, argv, key):
        self.key = key
        self.p = subprocess.Popen([sys.executable] + argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        if "ready" not in line:
            self.p.kill()
            raise RuntimeError("probe %s did not start: %s" % (argv[0], line.strip()))
        self.result = None

    def stop(self):
        if self.result is None:
            self.p.send_signal(signal.SIGTERM)
            out, _ = self.p.communicate(timeout=30)
            try:
                self.result = json.loads(out)
            except ValueError:
                self.result = {"samples": 0, "max_ms": None, self.key: []}
        return self.result

    def events(self):
        return (self.result or {}).get(self.key, [])

    def seen(self, t0, t1, min_ms):
        """True when an event stamped in [t0, t1] was min_ms or more late."""
        return any(t0 <= t <= t1 and ms >= min_ms for t, ms in self.events())


def daemon_stalls(rig):
    """(unix time, late_ms) of every `event=stall` in both daemons' logs."""
    out = []
    for n in (1, 2):
        try:
            text = open(rig.nodes[n].log_path, errors="replace").read()
        except OSError:
            continue
        for m in re.finditer(r"^(\S+)Z \S+ \S+ event=stall late_ms=(\d+)", text, re.M):
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            out.append((t, int(m.group(2))))
    return out


def err(msg):
    print(msg, file=sys.stderr, flush=True)


class Load:
    """A background load for one point; stop() ends it."""

    def __init__(self, kind, rig, build_src):
        self.kind = kind
        self.rig = rig
        self.procs = []
        self.stop_ev = threading.Event()
        self.thread = None
        self.tmp = None
        ncpu = str(os.cpu_count() or 2)
        if kind == "cpu":
            self._spawn(["stress-ng", "--cpu", ncpu, "--quiet"])
        elif kind == "io":
            self.tmp = tempfile.mkdtemp(prefix="hs-curve-io-")
            self._spawn(["stress-ng", "--iomix", "1", "--hdd", "1", "--temp-path", self.tmp,
                         "--quiet"])
        elif kind == "build":
            self.tmp = tempfile.mkdtemp(prefix="hs-curve-build-")
            script = ("while :; do rm -rf '%s/b'; cmake -S '%s' -B '%s/b' -G Ninja "
                      "-DCMAKE_BUILD_TYPE=Release >/dev/null 2>&1; cmake --build '%s/b' -j%s "
                      ">/dev/null 2>&1; done" % (self.tmp, build_src, self.tmp, self.tmp, ncpu))
            self._spawn(["bash", "-c", script])
        elif kind == "netem":
            rig.nsexec(1, ["nft", "-f", "-"], input=(
                "add table inet hscurve\n"
                "add chain inet hscurve out { type filter hook output priority 0; policy accept; }\n"
                "add rule inet hscurve out meta l4proto udp numgen random mod 100 < 1 drop\n"))
            self.thread = threading.Thread(target=self._spikes, daemon=True)
            self.thread.start()
        elif kind != "idle":
            raise ValueError("unknown load %s" % kind)

    def _spawn(self, cmd):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)

    def _spikes(self):
        while not self.stop_ev.wait(2.0):
            self.rig.nsexec(1, ["nft", "add", "chain", "inet", "hscurve", "spike",
                                "{ type filter hook output priority 1; policy drop; }"],
                            check=False)
            time.sleep(0.05)
            self.rig.nsexec(1, ["nft", "delete", "chain", "inet", "hscurve", "spike"],
                            check=False)

    def stop(self):
        self.stop_ev.set()
        if self.thread:
            self.thread.join()
            self.rig.nsexec(1, ["nft", "delete", "table", "inet", "hscurve"], check=False)
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def point(args, interval_ms, misses, load, realtime):
    names = ("net0", "serial0")
    baud = 115200 if interval_ms >= 8 else 460800
    detect = misses * interval_ms / 1000.0
    times, false, cut_s, events = [], 0, 0.0, []
    stall_ms = (misses - 1) * interval_ms
    stalls = []
    pty = Probe([PTY_PROBE, "--background", "--period-ms", "2", "--gap-ms", "5",
                 "--cable-rt", args.bed_rt], "gaps")
    rtp = Probe([RT_PROBE, "--period-ms", "1", "--gap-ms", "5"], "late")
    try:
        with R.Rig("crv%d%d" % (interval_ms, misses), build_dir=args.build_dir,
                   interval_ms=interval_ms, miss=misses, recovery=3,
                   init_dead_ms=max(1000, 10 * interval_ms), baud=baud, realtime=realtime,
                   rt_socat=args.bed_rt == "on") as rig:
            rig.start_nodes()
            rig.wait_healthy(timeout=20, paths=names)
            tl = rig.timeline(period=0.003)
            ld = Load(load, rig, ROOT)
            try:
                time.sleep(2.0)  # let the load ramp up
                hold = max(args.hold_seconds, 4 * detect)
                rnd = 0
                while cut_s < args.cut_seconds:
                    t0 = time.monotonic()
                    false += F.single_path_cuts(rig, tl, hold, rnd, ("net", "serial"), events)
                    cut_s += 3 * hold  # three cuts per round, each held `hold`
                    rnd += 1
                    err("  %d ms x %d %s rt=%s: %.0f s of cuts, %d false (round %.1f s)" % (
                        interval_ms, misses, load, realtime, cut_s, false, time.monotonic() - t0))
                for trial in range(args.trials):
                    mark = tl.mark()
                    d = F.one_failover(rig, tl, interval_ms, names)
                    extra = len(F.takeovers(tl, mark)) - 1
                    if extra > 0:
                        false += extra
                    if d is not None:
                        times.append(d * 1000)
            finally:
                ld.stop()
                tl.stop()
                stalls = daemon_stalls(rig)
    finally:
        pty.stop()
        rtp.stop()
    # A takeover event is (t, node, field, old, new) with t from time.time(); the window reaches
    # back a detection time plus 100 ms of slack for the timeline's polling.
    false_bed = 0
    for kind, e in events:
        # Only a cut that leaves the serial line as the one path can be lost to a pty stall.
        t0 = e[0] - misses * interval_ms / 1000.0 - 0.1
        bed = kind in ("link", "oneway") and pty.seen(t0, e[0], stall_ms)
        host = rtp.seen(t0, e[0], stall_ms)
        false_bed += bed or host
        err("  false switchover during the %s cut at %.3f: pty probe %s, real-time probe %s" % (
            kind, e[0], "stalled >= %d ms then (bed)" % stall_ms if bed else "saw no stall",
            "woke >= %d ms late then (host)" % stall_ms if host else "saw no late wake"))
    # A daemon stall (its timers fired late_ms late, logged at the late wake) is the host's when
    # the real-time probe woke 5 ms late or more in the same stretch.
    host_stalls = sum(1 for t, late in stalls if rtp.seen(t - late / 1000.0 - 0.005, t + 0.005, 5))
    pr = pty.result or {}
    rr = rtp.result or {}
    cut_min = cut_s / 60.0
    row = {
        "interval_ms": interval_ms, "misses": misses, "load": load,
        "realtime": "on" if realtime else "off", "bed_rt": args.bed_rt,
        "trials": args.trials,
        "median_ms": round(statistics.median(times), 1) if times else float("nan"),
        "p99_ms": round(F.pct(times, 99), 1) if times else float("nan"),
        "false": false, "cut_minutes": round(cut_min, 2),
        "false_per_cut_min": round(false / cut_min, 3) if cut_min else float("nan"),
        "false_bed": false_bed,
        "pty_max_ms": pr.get("max_ms"),
        "pty_stalls": sum(1 for _, ms in pr.get("gaps", []) if ms >= stall_ms),
        "rt_max_ms": rr.get("max_ms"),
        "daemon_stalls": len(stalls),
        "daemon_stalls_host": host_stalls,
    }
    print("curve " + " ".join("%s=%s" % (k, row[k]) for k in FIELDS), flush=True)
    return row


def plot(out_dir):
    """curve.png from curve.csv: detection median per interval (one line per load/realtime/N)
    and false switchovers per path-cut-minute."""
    src = os.path.join(out_dir, "curve.csv")
    with open(src) as f:
        rows = list(csv.DictReader(f))
    series = sorted({(r["load"], r["realtime"], r["misses"]) for r in rows})
    if not rows or not shutil.which("gnuplot"):
        err("plot: %s" % ("no data" if not rows else "gnuplot not installed"))
        return
    dat = os.path.join(out_dir, "curve.dat")
    with open(dat, "w") as f:
        for load, rt, n in series:
            f.write("# %s rt=%s N=%s\n" % (load, rt, n))
            pts = sorted((int(r["interval_ms"]), r) for r in rows
                         if (r["load"], r["realtime"], r["misses"]) == (load, rt, n))
            for _, r in pts:
                f.write("%s %s %s %s\n" % (r["interval_ms"], r["median_ms"], r["p99_ms"],
                                           r["false_per_cut_min"]))
            f.write("\n\n")
    titles = ["%s rt=%s N=%s" % s for s in series]
    lines1 = ", ".join("'%s' index %d using 1:2 with linespoints title '%s'" % (dat, i, t)
                       for i, t in enumerate(titles))
    lines2 = ", ".join("'%s' index %d using 1:4 with linespoints title '%s'" % (dat, i, t)
                       for i, t in enumerate(titles))
    script = """set terminal png size 1200,500
set output '%s'
set multiplot layout 1,2
set logscale x
set xrange [4:60]
set xtics (5, 10, 20, 50, 100)
set key left top font ',8'
set xlabel 'heartbeat interval (ms)'
set ylabel 'takeover after kill -9, median (ms)'
set grid
plot %s
set ylabel 'false switchovers per path-cut-minute'
set yrange [0:*]
plot %s
unset multiplot
""" % (os.path.join(out_dir, "curve.png"), lines1, lines2)
    p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if p.returncode != 0:  # e.g. no point had kill trials: nothing to draw on the left
        err("plot: gnuplot failed: %s" % p.stderr.strip().splitlines()[-1:])
        return
    err("plot: %s" % os.path.join(out_dir, "curve.png"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-dir", default=R.default_build_dir())
    ap.add_argument("--intervals", default="5,10,20,50")
    ap.add_argument("--misses", default="3,5")
    ap.add_argument("--loads", default="idle,cpu,io,build,netem")
    ap.add_argument("--realtime", default="off,on")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--cut-seconds", type=float, default=60.0)
    ap.add_argument("--hold-seconds", type=float, default=5.0)
    ap.add_argument("--out-dir", default=os.path.join(HERE, "out"))
    ap.add_argument("--plot-only", action="store_true", help="redraw curve.png from curve.csv")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--bed-rt", choices=("on", "off"), default="on",
                    help="the bed's cable at real-time priority: socat and the kernel's tty work "
                    "(tests/fixtures/bed/common.py KworkerBoost)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    if args.plot_only:
        plot(args.out_dir)
        return 0
    if not R.is_root():
        err("bench/curve needs root (network namespaces)")
        return 77
    for tool in ("stress-ng", "nft"):
        if not shutil.which(tool):
            err("bench/curve: %s not installed (scripts/install-deps.sh)" % tool)
            return 77
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signo, _frame: sys.exit(128 + signo))
    random.seed(args.seed)
    R.reap_stale_namespaces()
    csv_path = os.path.join(args.out_dir, "curve.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for load in [x for x in args.loads.split(",") if x]:
            for rt in [x == "on" for x in args.realtime.split(",") if x]:
                for n in [int(x) for x in args.misses.split(",") if x]:
                    for i in [int(x) for x in args.intervals.split(",") if x]:
                        try:
                            w.writerow(point(args, i, n, load, rt))
                            f.flush()
                        except Exception as e:  # one broken point must not hide the others
                            err("  point %d ms x %d %s rt=%s FAILED: %s: %s" % (
                                i, n, load, rt, type(e).__name__, e))
    plot(args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
