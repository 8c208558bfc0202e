#!/usr/bin/env python3
"""bench/vip: how the floating management address behaves for an NMS that polls it.

Two hotstandbyd in two network namespaces and an NMS namespace on a bridge (tests/fixtures/rig,
third party); [[address]] 192.0.2.100/24 on each node's hsv0; an snmpd per module (its own
namespace) listening on its own address and on the floating address (net.ipv4.ip_nonlocal_bind in
the module's namespace, so the socket exists before the address does), sysName = nodeN. The NMS
(bench/vip/nms_poll.py) sends an SNMPv2c GET of sysName.0 to the floating address every 10 ms,
each with a 50 ms timeout and 1 retry (--timeout-ms, --retries); a GET fails when no attempt is
answered. At the same time tests/fixtures/rig/arp_probe.py asks for the address by ARP every 5 ms
from the NMS and records the MACs that answer.

    python3 bench/vip/run.py --build-dir BUILD [--interval-ms 10] [--miss 3]

Sequence: 1 s steady (node1 ACTIVE); `hsctl switchover` on node1 (graceful); 1.5 s; then the
active (node2) is killed as a module dies: its link down and SIGKILL to its daemon and its snmpd,
from one shell in its namespace; 1.5 s. Prints

    vip kill_failed_gets=F1 switchover_failed_gets=F2 gets=N gap_ms=G

F1: failed GETs sent from 0.2 s before the kill to 1 s after it; F2: the same around the
switchover; N: all GETs; G: the longest time between two answered GETs around the kill. Then a
detail line: the answers' sysNames in order, the gap around the switchover and how many ARP
requests both modules answered (must be 0).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "rig"))
import rig as R  # noqa: E402

VIP = "192.0.2.100"
PROBE = os.path.join(ROOT, "tests", "fixtures", "rig", "arp_probe.py")
POLL = os.path.join(HERE, "nms_poll.py")
SNMP_PORT = 161


def address_block():
    return "\n".join(["[[address]]", 'address = "%s"' % VIP, "prefix = 24",
                      'interface = "%s"' % R.VETH, ""])


def start_snmpd(rig, n):
    d = os.path.join(rig.dir, "snmpd%d" % n)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "snmpd.conf")
    with open(conf, "w") as f:
        f.write("[snmp] persistentDir %s\n" % d)
        f.write("agentaddress udp:%s:%d,udp:%s:%d\n" % (R.ADDR[n], SNMP_PORT, VIP, SNMP_PORT))
        f.write("rocommunity public 192.0.2.0/24\n")
        f.write("sysName node%d\n" % n)
    rig.nsexec(n, ["sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"])
    env = dict(os.environ, SNMP_PERSISTENT_DIR=d, SNMPCONFPATH=d, MIBS="")
    p = subprocess.Popen(["ip", "netns", "exec", rig.ns[n], "snmpd", "-f", "-C", "-c", conf,
                          "-Lf", os.path.join(d, "snmpd.log"), "-p", os.path.join(d, "pid"),
                          "-I", "-smux,hr_swrun"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    rig.children.append(p)
    return p


def window(gets, t, before=0.2, after=1.0):
    return [g for g in gets if t - before <= g[0] <= t + after]


def longest_gap(gets, t0, t1):
    ans = sorted(g[1] for g in gets if g[1] is not None and t0 <= g[0] <= t1)
    return max((b - a for a, b in zip(ans, ans[1:])), default=0.0)


def both_answered(res):
    reqs, reps = res["requests"], res["replies"]
    bad, j = [], 0
    for i, t in enumerate(reqs):
        end = reqs[i + 1] if i + 1 < len(reqs) else float("inf")
        macs = set()
        while j < len(reps) and reps[j][0] < end:
            if reps[j][0] >= t:
                macs.add(reps[j][1])
            j += 1
        if len(macs) > 1:
            bad.append(t)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-dir", default=R.default_build_dir())
    ap.add_argument("--interval-ms", type=int, default=10)
    ap.add_argument("--miss", type=int, default=3)
    ap.add_argument("--period-ms", type=float, default=10.0)
    ap.add_argument("--timeout-ms", type=float, default=50.0)
    ap.add_argument("--retries", type=int, default=1)
    a = ap.parse_args()
    if not R.is_root():
        print("SKIP: needs root (network namespaces)")
        return 77
    rig = R.Rig("vipbench", build_dir=a.build_dir, interval_ms=a.interval_ms, miss=a.miss,
                recovery=3, init_dead_ms=1000, third_party=True,
                extra_config={0: address_block()})
    try:
        snmpd = {n: start_snmpd(rig, n) for n in (1, 2)}
        rig.start_nodes()
        rig.wait_healthy(timeout=15)
        if not R.wait_for(lambda: rig.roles() == {1: "ACTIVE", 2: "STANDBY"}, 5):
            raise RuntimeError("roles not agreed: %s" % rig.roles())
        time.sleep(0.5)
        total = 1.0 + 1.5 + 1.5 + 0.5
        poll = subprocess.Popen(
            ["ip", "netns", "exec", rig.ns[3], sys.executable, POLL, "--target", VIP,
             "--port", str(SNMP_PORT), "--period", str(a.period_ms / 1000.0),
             "--timeout", str(a.timeout_ms / 1000.0), "--retries", str(a.retries),
             "--seconds", str(total)], stdout=subprocess.PIPE, text=True)
        arp = subprocess.Popen(
            ["ip", "netns", "exec", rig.ns[3], sys.executable, PROBE, "--iface", R.BRIDGE,
             "--source", R.ADDR[3], "--target", VIP, "--period", "0.005",
             "--seconds", str(total)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        rig.children += [poll, arp]
        time.sleep(1.0)
        t_sw = time.time()
        p = rig.nodes[1].hsctl("switchover")
        if p.returncode != 0:
            raise RuntimeError("hsctl switchover: %s" % (p.stdout + p.stderr))
        if not R.wait_for(lambda: rig.roles() == {1: "STANDBY", 2: "ACTIVE"}, 3, interval=0.005):
            raise RuntimeError("switchover did not complete: %s" % rig.roles())
        time.sleep(max(0.0, t_sw + 1.5 - time.time()))
        # The module dies as a whole: its link (so its kernel answers nothing more, ARP
        # included), its daemon and its snmpd in one breath, from one shell in its namespace
        # (a link cut first and a SIGKILL from here afterwards let the daemon send on the serial
        # line for as long as the `ip` command took to spawn and return, which is the bench's
        # time, not the takeover's). The shell takes a few ms to spawn on a loaded machine; the
        # window counts from before it.
        t_kill = time.time()
        rig.nsexec(2, ["sh", "-c", "ip link set %s down; kill -9 %d %d" % (
            R.VETH, rig.nodes[2].pid, snmpd[2].pid)])
        rig.nodes[2].child.kill9()  # already dead: reaps it
        snmpd[2].send_signal(signal.SIGKILL)
        if not R.wait_for(lambda: rig.nodes[1].role() == "ACTIVE", 3, interval=0.005):
            raise RuntimeError("node1 did not take over")
        gets = json.loads(poll.communicate(timeout=30)[0])["gets"]
        probe = json.loads(arp.communicate(timeout=30)[0])
    finally:
        rig.close()
    failed = lambda w: sum(1 for g in w if g[1] is None)  # noqa: E731
    f_kill = failed(window(gets, t_kill))
    f_sw = failed(window(gets, t_sw))
    gap = longest_gap(gets, t_kill - 0.2, t_kill + 1.0)
    gap_sw = longest_gap(gets, t_sw - 0.2, t_sw + 1.0)
    both = both_answered(probe)
    fails = [g[0] for g in gets if g[1] is None]
    names = []
    for g in gets:
        if g[2] and (not names or names[-1] != g[2]):
            names.append(g[2])
    print("vip kill_failed_gets=%d switchover_failed_gets=%d gets=%d gap_ms=%.1f" %
          (f_kill, f_sw, len(gets), gap * 1000))
    print("  detail: interval_ms=%d miss=%d poll_ms=%.0f timeout_ms=%.0f retries=%d "
          "answered_by=%s switchover_gap_ms=%.1f failed_total=%d arp_requests=%d "
          "arp_both_answered=%d" %
          (a.interval_ms, a.miss, a.period_ms, a.timeout_ms, a.retries, "->".join(names),
           gap_sw * 1000, failed(gets), len(probe["requests"]), len(both)))
    if fails:
        print("  failed GETs sent at (ms from the switchover / the kill): %s" %
              ", ".join("%.0f/%.0f" % ((t - t_sw) * 1000, (t - t_kill) * 1000) for t in fails[:8]))
    if both:
        print("  both answered at (ms from the switchover / the kill): %s" %
              ", ".join("%.0f/%.0f" % ((t - t_sw) * 1000, (t - t_kill) * 1000) for t in both[:8]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
