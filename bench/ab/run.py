#!/usr/bin/env python3
"""Before/after comparison of two builds on the same machine in one run.

Runs bench/failover (10 ms x 3, kill -9 of the active), bench/chassis and bench/snmp against two
build directories, interleaved A B A B ... so that a slow phase of the machine hits both, and
prints for every figure the median over the rounds of each build and the median of the per-round
ratios after/before (the figure to read: a baseline can be bimodal on these VMs).

    python3 bench/ab/run.py --before OLD_BUILD --after build [--rounds 5] [--trials 10]

prints one line per figure:

    ab figure=failover_median_ms before=23.7 after=23.4 ratio=0.99 rounds=5

A ratio below 1 means the after build is faster. Needs root (network namespaces, like
bench/failover). The benches of THIS tree drive both builds; a build only has to hold the
binaries (daemon/hotstandbyd, cli/hsctl, bench/chassis/bench_chassis, bench/snmp/bench_snmp_*).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(cmd, timeout):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def grab(pattern, text):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def failover(build, trials):
    rc, out = run([sys.executable, os.path.join(REPO, "bench", "failover", "failover.py"),
                   "--build-dir", build, "--intervals", "10", "--trials", str(trials),
                   "--no-stress", "--no-steady"], 600)
    line = re.search(r"^failover .*$", out, re.M)
    fig = {"failover_median_ms": grab(r"median_ms=([\d.]+)", line.group(0) if line else ""),
           "failover_p99_ms": grab(r"p99_ms=([\d.]+)", line.group(0) if line else "")}
    fig["failover_false_switchovers"] = grab(r"false_switchovers=(\d+)",
                                             line.group(0) if line else "")
    return fig, out


def chassis(build, iterations):
    rc, out = run([os.path.join(build, "bench", "chassis", "bench_chassis"), str(iterations)], 600)
    return {"chassis_status_median_ms": grab(r"op=status median_ms=([\d.]+)", out),
            "chassis_sensors_median_ms": grab(r"op=sensors median_ms=([\d.]+)", out),
            "chassis_takeover_to_first_command_ms":
                grab(r"takeover_to_first_command_ms=([\d.]+)", out)}, out


def snmp(build):
    rc, out = run([sys.executable, os.path.join(REPO, "bench", "snmp", "run_bench.py"),
                   "--build", build], 300)
    return {"snmp_get_median_us": grab(r"snmp get_median_us=([\d.]+)", out),
            "snmp_native_get_median_us": grab(r"native_get_median_us=([\d.]+)", out),
            "snmp_walk_ms": grab(r"walk_ms=([\d.]+)", out),
            "snmp_bulkwalk_ms": grab(r"bulkwalk_ms=([\d.]+)", out)}, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, help="build directory of the old tree")
    ap.add_argument("--after", default=os.path.join(REPO, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=10, help="failover trials per round")
    ap.add_argument("--chassis-iterations", type=int, default=50)
    ap.add_argument("--only", default="failover,chassis,snmp")
    a = ap.parse_args()
    benches = {"failover": lambda b: failover(b, a.trials),
               "chassis": lambda b: chassis(b, a.chassis_iterations),
               "snmp": snmp}
    only = [b for b in a.only.split(",") if b]
    builds = {"before": os.path.abspath(a.before), "after": os.path.abspath(a.after)}
    figs = {"before": {}, "after": {}}
    ratios = {}
    for r in range(a.rounds):
        for name in only:
            got = {}
            # A B in even rounds, B A in odd ones: neither build always goes first.
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for side in order:
                fig, out = benches[name](builds[side])
                if any(v is None for v in fig.values()):
                    print("ab round=%d bench=%s side=%s FAILED:\n%s" % (r + 1, name, side,
                                                                       out[-2000:]),
                          file=sys.stderr)
                got[side] = fig
                for k, v in fig.items():
                    if v is not None:
                        figs[side].setdefault(k, []).append(v)
            for k in got.get("after", {}):
                b, c = got.get("before", {}).get(k), got["after"][k]
                if b and c is not None:
                    ratios.setdefault(k, []).append(c / b)
        print("ab round %d/%d done" % (r + 1, a.rounds), file=sys.stderr, flush=True)
    for k in sorted(set(figs["before"]) | set(figs["after"])):
        b = figs["before"].get(k, [])
        c = figs["after"].get(k, [])
        rs = ratios.get(k, [])
        fmt = lambda xs: ("%.3g" % statistics.median(xs)) if xs else "-"
        if k == "failover_false_switchovers":
            print("ab figure=%s before=%d after=%d rounds=%d" % (k, sum(b), sum(c), len(c)))
            continue
        print("ab figure=%s before=%s after=%s ratio=%s rounds=%d"
              % (k, fmt(b), fmt(c), ("%.2f" % statistics.median(rs)) if rs else "-", len(rs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
