#!/usr/bin/env python3
"""bench/compare/steady_ab.py: steady CPU of two builds and keepalived in the same windows.

Runs one rig per build (one UDP path, 10 ms x 3, bench/compare's hotstandby rig) and bench/compare's
keepalived pair at the same time, and measures the steady ACTIVE of each build and keepalived's
master over the same windows, from /proc/PID/task/*/schedstat (ns of CPU as the scheduler counts
it), K rounds:

    steady_ab.py OLD_BUILD NEW_BUILD [SECONDS=10] [ROUNDS=5]
    precise steady paths=udp before_cpu_pct= after_cpu_pct= ka_cpu_pct= after_to_before= ...

The ratios are medians of the per-round ratios. Needs root and keepalived, like run.py.
"""
import importlib.util
import os
import statistics
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_spec = importlib.util.spec_from_file_location("compare_run",
                                               os.path.join(REPO, "bench", "compare", "run.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)
R = C.R


def cpu_ns(pids):
    return sum(C.cpu_ns(p) for p in pids)


def rig(tag, build):
    return R.Rig(tag, build_dir=build, interval_ms=10, miss=3, recovery=3, init_dead_ms=1000,
                 node_overrides={1: {"serial": False}, 2: {"serial": False}})


def active_pid(r):
    st = r.statuses()
    return r.nodes[1 if st[1]["role"] == "ACTIVE" else 2].pid


def main():
    if len(sys.argv) < 3:
        C.err(__doc__)
        return 2
    before, after = sys.argv[1], sys.argv[2]
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    if not R.is_root():
        C.err("steady_ab needs root (network namespaces)")
        return 77
    R.reap_stale_namespaces()
    ka = C.KaPair(10)
    try:
        ka.start(1)
        time.sleep(0.2)
        ka.start(2)
        ka.wait_settled()
        with rig("sab", before) as rb, rig("saa", after) as ra:
            for r in (rb, ra):
                r.start_nodes()
            for r in (rb, ra):
                r.wait_healthy(timeout=20, paths=("net0",))
            time.sleep(1.0)
            res = []
            for k in range(rounds):
                pb, pa = [active_pid(rb)], [active_pid(ra)]
                pk = ka.pids(ka.wait_settled())
                b0, a0, k0, w0 = cpu_ns(pb), cpu_ns(pa), cpu_ns(pk), time.monotonic()
                time.sleep(secs)
                b1, a1, k1, w1 = cpu_ns(pb), cpu_ns(pa), cpu_ns(pk), time.monotonic()
                w = (w1 - w0) * 1e9
                res.append(((b1 - b0) / w * 100, (a1 - a0) / w * 100, (k1 - k0) / w * 100))
                C.err("  round %d before=%.3f%% after=%.3f%% ka=%.3f%%" % (k, *res[-1]))
    finally:
        ka.close()

    def med(i):
        return statistics.median(x[i] for x in res)

    def ratio(i, j):
        return statistics.median(x[i] / x[j] for x in res)

    print("precise steady paths=udp before_cpu_pct=%.3f after_cpu_pct=%.3f ka_cpu_pct=%.3f "
          "after_to_before=%.2f after_to_ka=%.2f before_to_ka=%.2f rounds=%d" % (
              med(0), med(1), med(2), ratio(1, 0), ratio(1, 2), ratio(0, 2), len(res)),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
