#!/usr/bin/env python3
"""bench/replication: how fast the active's store reaches the standby, and what a takeover inherits.

    python3 bench/replication/run.py --build-dir BUILD [--interval-ms 10] [--miss 3]
        [--records 10000] [--lag-seconds 3] [--rate 100] [--burst-seconds 3] [--clients 4]
        [--takeovers 3]

Prints

    replication records=10000 snapshot_ms=S lag_p50_ms=A lag_p99_ms=B updates_per_s=U
    takeover intent_applied_ms=T

and detail lines. Where each figure comes from:

  snapshot_ms  bench_repl snapshot (bench/replication/bench_repl.cpp): two hs::Replication objects
      (the daemon's own glue, Sender and Receiver, the UDP path's per-tick budget) in one process,
      every message and watermark through its encoding, ticked in real time every interval. The
      writer's store holds RECORDS records; the time runs from the first tick (the standby sees the
      active's watermark and joins) until the standby holds every record of both streams. The
      store caps each log (journal, chassis events) at repl::kLogCapacity = 256 entries and has a
      few intent keys, so 10,000 records can only be mostly sensor telemetry; the standby turns
      hot (ordered stream in step) earlier: hot_ms in the detail line.
      The detail line `daemon_snapshot` measures the same with the real daemons: node 1 starts
      from a state directory whose `replica` (written by `bench_repl store`, repl/'s encoder)
      holds the largest ordered stream the store keeps (fan mode, floors, 256 journal rows, 256
      chassis events); node 2 starts empty and gets a full snapshot. Its time runs from node 2's
      log line readiness=syncing (the snapshot's reply arrived) to readiness=hot.
  lag_p50_ms / lag_p99_ms  fan floor changes (control socket `fan.duty`, zone 0, as `hsctl fan
      duty` sends them) on the active at RATE per second for LAG_SECONDS, each on its own
      connection; an answer counts only when it says the standby holds the change. Lag of one
      update, judged outside the daemons: from the BMC's receipt of its duty command (ipmi_sim's
      cmd_log, CLOCK_MONOTONIC) to the answer. An upper bound on the replication lag: it also
      holds the chassis's way from the BMC's reply to the record's write and the standby's Ack
      back. At the end the standby's shared memory (hs_shm_dump, repl/hs_shm.h) must hold the
      last floor (the region is published at most every 200 ms, ReplicaFiles::kShmEvery: too
      coarse to time a lag of a few ms).
      The detail line adds the daemons' own view: both ordered-stream positions (`seq_ordered`
      of the status) polled every 2 ms on the control sockets; for each position the active
      reached, the time until the standby held it (it can read low by up to a poll round: the
      active's position is seen only at its next poll).
  updates_per_s  CLIENTS connections sending floor changes back to back for BURST_SECONDS:
      acknowledged answers per second.
  intent_applied_ms  the active sets a floor, the standby is hot, kill -9 of the active; from the
      kill to the BMC receiving that floor from the new active (cmd_log), median of TAKEOVERS
      (the roles alternate; the killed node restarts and turns hot again before the next).

Real daemons, ipmi_sim and socat as the system tests start them (tests/fixtures/system/sysbed.py:
loopback, SCHED_FIFO when root), no snmpd.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "system"))
import sysbed as S  # noqa: E402
from sysbed import SystemBed, wait_for  # noqa: E402

ZONE0 = "660100"  # Supermicro zone duty, zone 0: 66 01 00 PCT


def pct_hex(pct):
    return ZONE0 + "%02x" % pct


def binary(build, *rel):
    p = os.path.join(build, *rel)
    if not os.path.isfile(p):
        raise RuntimeError("missing %s (build first)" % p)
    return p


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(q / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def replication(node):
    st = node.request({"cmd": "status"}, timeout=2.0)
    return (st.get("result") or st).get("replication") or {}


def set_floor(node, pct, timeout=2.0):
    """One floor change on the control socket; (monotonic ns sent, answered, acknowledged)."""
    t0 = time.monotonic_ns()
    try:
        rep = node.request({"cmd": "fan.duty", "zone": 0, "pct": pct}, timeout=timeout)
    except (OSError, ValueError):
        return t0, time.monotonic_ns(), False
    t1 = time.monotonic_ns()
    msg = json.dumps(rep)
    return t0, t1, bool(rep.get("ok")) and "the standby holds it" in msg


def log_time(node, pattern, after=0.0):
    for line in node.log_text().splitlines():
        if re.search(pattern, line):
            t = S.common.parse_log_ts(line)
            if t is not None and t >= after:
                return t
    return None


def in_process_snapshot(a):
    p = subprocess.run([binary(a.build_dir, "bench", "replication", "bench_repl"), "snapshot",
                        "--records", str(a.records), "--interval-ms", str(a.interval_ms)],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("bench_repl snapshot: %s%s" % (p.stdout, p.stderr))
    line = p.stdout.strip().splitlines()[-1]
    return line, dict(re.findall(r"(\w+)=(\S+)", line))


def daemon_snapshot(a, bed, n1, n2):
    tool = binary(a.build_dir, "bench", "replication", "bench_repl")
    p = subprocess.run([tool, "store", os.path.join(n1.state_dir, "replica")],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("bench_repl store: %s%s" % (p.stdout, p.stderr))
    n1.start()
    bed.wait_role(1, "ACTIVE", timeout=15)
    bed.wait_driving(1)
    held = replication(n1).get("records")
    t_start = time.time()
    n2.start()
    bed.wait_healthy()
    if not wait_for(lambda: replication(n2).get("readiness") == "hot", 15, interval=0.002):
        raise RuntimeError("node2 did not turn hot: %s" % replication(n2))
    t_hot = time.time()
    r2 = replication(n2)
    pat_sync = r"event=replication_readiness readiness=syncing"
    pat_hot = r"event=replication_readiness readiness=hot"
    wait_for(lambda: log_time(n2, pat_hot, t_start - 1), 2)
    t_sync = log_time(n2, pat_sync, t_start - 1)
    t_hot_log = log_time(n2, pat_hot, t_start - 1)
    snap = (t_hot_log - t_sync) * 1000 if t_sync and t_hot_log else float("nan")
    return ("daemon_snapshot records=%s ordered_stream_records=%s snapshot_ms=%.0f "
            "start_to_hot_ms=%.0f snapshots_received=%s"
            % (held, r2.get("seq_ordered"), snap, (t_hot - t_start) * 1000,
               (r2.get("counters") or {}).get("snapshots_received")))


def bmc_receipt(entries, pct, t0, t1):
    want = pct_hex(pct)
    for e in entries:
        if e["data"] == want and t0 <= e["t_ns"] <= t1:
            return e["t_ns"]
    return None


class SeqPoller:
    """Polls both daemons' ordered-stream position (status on the control socket), both every
    2 ms: for each position the active reached, the time until the standby held it (at the
    poll's granularity: a few ms)."""

    def __init__(self, active, standby):
        self.nodes = (active, standby)
        self.samples = ([], [])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for k, node in enumerate(self.nodes):
                try:
                    seq = replication(node).get("seq_ordered")
                except (OSError, ValueError):
                    continue
                self.samples[k].append((time.monotonic_ns(), seq))
            time.sleep(0.002)  # a poll every 2 ms per daemon: little work for their core threads

    def lags(self):
        act, sb = self.samples
        out, j, last = [], 0, None
        for t, seq in act:
            if seq is None or seq == last:
                continue
            last = seq
            while j < len(sb) and (sb[j][0] < t or sb[j][1] < seq):
                j += 1
            if j == len(sb):
                break
            out.append((sb[j][0] - t) / 1e6)
        return out, len(act) + len(sb)


def lag_phase(a, bed, active, cmd_log):
    """Floor changes at RATE per second, each on its own connection (at most 8 in flight, no two
    in flight with the same value)."""
    results = []
    poller = SeqPoller(active, bed.nodes[3 - active.n])
    poller.thread.start()
    lock = threading.Lock()
    sem = threading.Semaphore(8)
    period = 1.0 / a.rate
    n = int(a.lag_seconds * a.rate)
    threads = []

    def one(pct):
        try:
            r = set_floor(active, pct)
            with lock:
                results.append((pct,) + r)
        finally:
            sem.release()

    start = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, start + i * period - time.monotonic()))
        sem.acquire()
        t = threading.Thread(target=one, args=(50 + i % 48,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(timeout=10)
    sent_s = time.monotonic() - start
    time.sleep(0.3)
    poller.stop.set()
    poller.thread.join(timeout=5)
    entries = bed.bmc.ctl_log(cmd_log)
    lags, answers, missing = [], [], 0
    for pct, t0, t1, acked in results:
        if not acked:
            continue
        answers.append((t1 - t0) / 1e6)
        tb = bmc_receipt(entries, pct, t0, t1)
        if tb is None:
            missing += 1
            continue
        lags.append((t1 - tb) / 1e6)
    acked = sum(1 for r in results if r[3])
    return lags, answers, acked, len(results), missing, sent_s, poller.lags()


def burst_phase(a, active):
    count = [0, 0]
    lock = threading.Lock()
    stop = time.monotonic() + a.burst_seconds

    def client(k):
        i = 0
        while time.monotonic() < stop:
            pct = 50 + (k * 12 + i) % 48
            i += 1
            _, _, acked = set_floor(active, pct)
            with lock:
                count[0 if acked else 1] += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(a.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=a.burst_seconds + 10)
    return count[0] / (time.monotonic() - t0), count[0], count[1]


def shm_floor(a, node):
    p = subprocess.run([a.shm_dump, S.common.default_shm_name(node.node_id)],
                       capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        return None
    for r in json.loads(p.stdout).get("records", []):
        if r["kind"] == 2 and r["index"] == 0:
            return r["i"][0]
    return None


def takeover(a, bed, active_n, cmd_log, pct):
    act, sb = bed.nodes[active_n], bed.nodes[3 - active_n]
    _, _, acked = set_floor(act, pct)
    if not acked:
        raise RuntimeError("floor %d not acknowledged" % pct)
    if not wait_for(lambda: replication(sb).get("readiness") == "hot", 10):
        raise RuntimeError("standby not hot before the kill")
    time.sleep(0.5)  # the standby's own sensor readings are fresh (it polls as standby too)
    t_kill = time.monotonic_ns()
    act.kill9()
    bed.wait_role(3 - active_n, "ACTIVE", timeout=10)
    want = pct_hex(pct)
    hit = wait_for(lambda: [e for e in bed.bmc.ctl_log(cmd_log)
                            if e["t_ns"] > t_kill and e["data"] == want], 5)
    if not hit:
        raise RuntimeError("the BMC never received the inherited floor %d%%" % pct)
    after = [e for e in bed.bmc.ctl_log(cmd_log) if e["t_ns"] > t_kill]
    burst = any(e["data"] in ("66010064", "66010164") for e in after[:4])
    ms = (hit[0]["t_ns"] - t_kill) / 1e6
    # The killed node restarts and becomes the hot standby of the new active.
    act.start()
    bed.wait_healthy(timeout=20)
    if not wait_for(lambda: replication(act).get("readiness") == "hot", 10):
        raise RuntimeError("restarted node%d did not turn hot" % active_n)
    return ms, burst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-dir", default=S.common.default_build_dir())
    ap.add_argument("--interval-ms", type=int, default=10)
    ap.add_argument("--miss", type=int, default=3)
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--lag-seconds", type=float, default=3.0)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--burst-seconds", type=float, default=3.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--takeovers", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (SCHED_FIFO daemons, like the system tests)")
        return 77
    a.build_dir = os.path.abspath(a.build_dir)
    a.shm_dump = binary(a.build_dir, "tests", "system", "hs_shm_dump")
    snap_line, snap = in_process_snapshot(a)
    bed = SystemBed("replbench", daemon=binary(a.build_dir, "daemon", "hotstandbyd"),
                    hsctl=binary(a.build_dir, "cli", "hsctl"),
                    plugin=binary(a.build_dir, "ipmi_sim_fixture", "hsfix_bmc.so"),
                    source_dir=ROOT, with_snmp=False, interval_ms=a.interval_ms, miss=a.miss)
    with bed:
        cmd_log = os.path.join(bed.bmc.dir, "ctl.log")
        bed.bmc.plugin_options = "fan_sensor0=4 fan_sensor1=5 cmd_log=%s" % cmd_log
        bed.start_infra()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        daemon_line = daemon_snapshot(a, bed, n1, n2)
        c0 = replication(n1).get("counters") or {}
        lags, answers, acked, sent, missing, sent_s, (polled, polls) = lag_phase(
            a, bed, n1, cmd_log)
        c1 = replication(n1).get("counters") or {}
        counters = " ".join("%s=%d" % (k, c1.get(k, 0) - c0.get(k, 0))
                            for k in ("frames_sent", "payloads_received", "resends",
                                      "waits_acked", "waits_timed_out"))
        last = 97
        _, _, ok = set_floor(n1, last)
        shm_ok = ok and wait_for(lambda: shm_floor(a, n2) == last, 5)
        ups, ups_acked, ups_other = burst_phase(a, n1)
        takes, bursts, active = [], 0, 1
        for i in range(a.takeovers):
            ms, burst = takeover(a, bed, active, cmd_log, 60 + 7 * i)
            takes.append(ms)
            bursts += 1 if burst else 0
            active = 3 - active
    load = os.getloadavg()
    print("replication records=%s snapshot_ms=%.0f lag_p50_ms=%.1f lag_p99_ms=%.1f "
          "updates_per_s=%.0f" % (snap.get("records"), float(snap.get("snapshot_ms", "nan")),
                                  percentile(lags, 50), percentile(lags, 99), ups))
    print("takeover intent_applied_ms=%.0f" % statistics.median(takes))
    print("  detail: interval_ms=%d miss=%d load=%.2f,%.2f,%.2f" %
          ((a.interval_ms, a.miss) + load))
    print("  in-process %s" % snap_line)
    print("  %s" % daemon_line)
    print("  lag: %d floor changes at %.0f/s (sent in %.2f s), %d acknowledged, %d without a BMC "
          "match; lag max %.1f ms; answer from the request p50 %.1f ms p99 %.1f ms; standby shm "
          "holds the last floor: %s" % (sent, a.rate, sent_s, acked, missing,
                                        max(lags, default=float("nan")), percentile(answers, 50),
                                        percentile(answers, 99), "yes" if shm_ok else "NO"))
    print("  standby position polled (%d status polls): %d positions, lag p50 %.1f ms p99 %.1f "
          "ms max %.1f ms" % (polls, len(polled), percentile(polled, 50), percentile(polled, 99),
                              max(polled, default=float("nan"))))
    print("  active's replication counters over the lag phase: %s" % counters)
    print("  updates: %d clients for %.1f s: %d acknowledged, %d not" %
          (a.clients, a.burst_seconds, ups_acked, ups_other))
    print("  takeovers (kill -9 to the BMC receiving the inherited floor, ms): %s; fail-safe "
          "bursts: %d; detection time %d ms" %
          (", ".join("%.0f" % t for t in takes), bursts, a.interval_ms * a.miss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
