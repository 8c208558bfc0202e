#!/usr/bin/env python3
"""HOTSTANDBY-MIB through a real snmpd (AgentX master) and snmptrapd on loopback.

Runs snmp_test_agent (the real Subagent with a synthetic snapshot: 2 paths, 40 sensors, 8 fans)
and checks: the subagent connects to an snmpd started after it; every readable object of the MIB
(from smidump) is read by snmpwalk and snmpget with symbolic names; every writable object is set
(SNMPv3 authPriv) with good and bad values (wrongType, wrongValue, notWritable, inconsistentValue on
the standby, v2c refused); notifications arrive in snmptrapd's log in order with increasing
hsNotificationSeq (v2c traps and v3 informs); after snmpd is killed and restarted the objects are
back within 2 s and hsStateResync follows the notifications queued meanwhile; with snmpd
SIGSTOPped, publish() and notify() never block the caller.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "snmp"))
from snmpbed import SnmpBed, find_mib_dirs  # noqa: E402

FAILS = []
PASSES = [0]


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print("FAIL: %s" % what, flush=True)
    return cond


class Agent:
    def __init__(self, path, socket_path, logfile, extra=()):
        self.p = subprocess.Popen([path, "--socket", socket_path, "--log", os.environ.get("HS_AGENT_LOG", "info")] + list(extra),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(logfile, "w"), text=True)
        self.requests = []
        assert self.read() == "READY"

    def read(self):
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("snmp_test_agent exited")
            line = line.strip()
            if line.startswith("REQUEST "):
                self.requests.append(line)
                continue
            return line

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        return self.read()

    def wait_request(self, needle, timeout=3.0):
        # REQUEST lines arrive asynchronously: poll with a cheap command.
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(needle in r for r in self.requests):
                return True
            self.cmd("stats")
            time.sleep(0.02)
        return False

    def close(self):
        try:
            out = self.cmd("quit")
        except (RuntimeError, BrokenPipeError):
            out = ""
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return out


def mib_objects(mib_dirs, mib_dir):
    """{name: (nodetype, access)} of HOTSTANDBY-MIB from smidump -f python."""
    env = dict(os.environ, SMIPATH=":".join(mib_dirs))
    out = subprocess.run(["smidump", "-f", "python", os.path.join(mib_dir, "HOTSTANDBY-MIB.txt")],
                         env=env, capture_output=True, text=True, check=True).stdout
    ns = {}
    exec(out, ns)  # smidump's python output is a plain dict literal
    nodes = ns["MIB"]["nodes"]
    return {n: (d["nodetype"], d.get("access")) for n, d in nodes.items()}, ns["MIB"].get("notifications", {})


def test_reads(bed, objects):
    walk = bed.walk()
    names = [n for n, _, _ in walk]
    check(len(walk) == 519, "walk returns 519 instances (got %d)" % len(walk))
    check(all(n.startswith("HOTSTANDBY-MIB::hs") for n in names), "walk names are symbolic")
    readable = {n: t for n, (t, a) in objects.items() if a in ("readonly", "readwrite")}
    first_instance = {}
    for n in names:
        obj, _, idx = n.split("::", 1)[1].partition(".")
        first_instance.setdefault(obj, idx)
    for obj in sorted(readable):
        check(obj in first_instance, "walk has %s" % obj)
    # snmpget every object by name, a few per request.
    targets = ["%s.%s" % (o, first_instance.get(o, "0")) for o in sorted(readable)]
    got = {}
    for i in range(0, len(targets), 10):
        for n, t, v in bed.get(*targets[i:i + 10]):
            got[n.split("::", 1)[1]] = (t, v)
    for tgt in targets:
        ok = tgt in got and "No Such" not in got[tgt][1]
        check(ok, "snmpget %s (got %s)" % (tgt, got.get(tgt)))
    expect = {
        "hsLocalRole.0": "active(3)", "hsPeerRole.0": "standby(2)", "hsRedundancyState.0": "redundant(1)",
        "hsEpoch.0": "7", "hsSwitchoverCount.0": "3", "hsLastSwitchoverReason.0": "manual(3)",
        "hsPathName.2": "serial0", "hsPathType.2": "serial(3)", "hsPathAuthFailures.1": "5000000001",
        "hsModuleStandbyStatus.1": "providingService(4)", "hsModuleStandbyStatus.2": "hotStandby(2)",
        "hsSensorValue.1": "12060 thousandths of hsSensorUnit", "hsFanDuty.8": "40 percent",
        "hsChassisPowerState.0": "on(2)", "hsSwitchoverEpoch.3": "7",
        "hsReplWriter.0": "true(1)", "hsReplReadiness.0": "none(1)", "hsReplStoreEpoch.0": "7",
        "hsReplStoreSequence.0": "4294967295", "hsReplRecords.0": "120 records",
        "hsAddressIp.1": "192.0.2.100", "hsAddressFamily.1": "ipv4(1)",
        "hsAddressPrefixLength.1": "24", "hsAddressHeld.1": "true(1)",
    }
    res = {n.split("::", 1)[1]: v for n, _, v in bed.get(*expect.keys())}
    for k, v in expect.items():
        check(res.get(k) == v, "%s = %s (got %s)" % (k, v, res.get(k)))
    t, v = bed.get1("hsLastSwitchoverTime.0")
    check(v.startswith("2025-11-24,16:0:3.0"), "hsLastSwitchoverTime is a DateAndTime (%s)" % v)


def expect_error(res, err, what):
    ok, out = res
    check(not ok and err in out, "%s -> %s (got %s)" % (what, err, out.replace("\n", " | ")))


def test_sets(bed, agent, objects):
    writable = sorted(n for n, (t, a) in objects.items() if a == "readwrite")
    check(writable == ["hsChassisPowerControl", "hsFanDuty", "hsFanMode", "hsPreemptMode",
                       "hsSwitchoverAction"], "writable objects: %s" % writable)
    good = [("hsSwitchoverAction.0", "i", "2", "op=switchover"),
            ("hsPreemptMode.0", "i", "1", "op=setPreemption zone=0 value=1"),
            ("hsChassisPowerControl.0", "i", "4", "op=powerCycle"),
            ("hsFanDuty.3", "u", "55", "op=fanDuty zone=2 value=55"),
            ("hsFanMode.5", "i", "3", "op=fanModeManual zone=4")]
    for name, t, v, req in good:
        ok, out = bed.set(name, t, v)
        check(ok, "set %s %s %s (%s)" % (name, t, v, out))
        check(agent.wait_request(req), "request %s reached the core" % req)
    t, v = bed.get1("hsLastControlResult.0")
    check(v.startswith("ok: "), "hsLastControlResult after a set (%s)" % v)
    # Wrong types: a numeric OID so the client does not check the type against the MIB.
    for name, t, v in [("hsSwitchoverAction.0", "s", "x"), ("hsPreemptMode.0", "u", "1"),
                       ("hsChassisPowerControl.0", "s", "on"), ("hsFanDuty.1", "i", "50"),
                       ("hsFanMode.1", "u", "2")]:
        expect_error(bed.set(bed.numeric(name), t, v, unchecked=True), "wrongType", "set %s %s" % (name, t))
    for name, t, v in [("hsSwitchoverAction.0", "i", "7"), ("hsPreemptMode.0", "i", "3"),
                       ("hsChassisPowerControl.0", "i", "6"), ("hsFanDuty.1", "u", "101"),
                       ("hsFanMode.1", "i", "4")]:
        expect_error(bed.set(name, t, v, unchecked=True), "wrongValue", "set %s %s" % (name, v))
    expect_error(bed.set("hsLocalRole.0", "i", "3", unchecked=True), "notWritable", "set hsLocalRole")
    expect_error(bed.set("hsFanDuty.9", "u", "10", unchecked=True), "noCreation", "set hsFanDuty.9")
    ok, out = bed.set("hsSwitchoverAction.0", "i", "2", v3=False)
    check(not ok and ("noAccess" in out or "notWritable" in out or "authorization" in out),
          "v2c community is read-only (%s)" % out)
    # The standby refuses control writes with inconsistentValue; force takeover is its one write.
    check(agent.cmd("role standby") == "OK", "role standby")
    time.sleep(0.1)
    check(bed.get1("hsLocalRole.0")[1] == "standby(2)", "hsLocalRole shows standby")
    before = len(agent.requests)
    for name, t, v in [("hsSwitchoverAction.0", "i", "2"), ("hsPreemptMode.0", "i", "2"),
                       ("hsChassisPowerControl.0", "i", "3"), ("hsFanDuty.1", "u", "30"),
                       ("hsFanMode.1", "i", "2")]:
        expect_error(bed.set(name, t, v), "inconsistentValue", "standby set %s" % name)
    check(len(agent.requests) == before, "refused sets never reach the core")
    ok, out = bed.set("hsSwitchoverAction.0", "i", "3")
    check(ok and agent.wait_request("op=forceTakeover"), "standby forceTakeover (%s)" % out)
    check(agent.cmd("role active") == "OK", "role active")
    time.sleep(0.1)


EVENTS = [("pathDown", 2, "hsPathDown"), ("pathUp", 2, "hsPathUp"), ("peerLost", 0, "hsPeerLost"),
          ("peerRecovered", 0, "hsPeerRecovered"), ("switchover", 0, "hsSwitchover"),
          ("splitBrainResolved", 0, "hsSplitBrainResolved"),
          ("redundancyDegraded", 0, "hsRedundancyDegraded"),
          ("redundancyRestored", 0, "hsRedundancyRestored"),
          ("chassisPowerChanged", 0, "hsChassisPowerChange"), ("bmcUnreachable", 0, "hsBmcUnreachable"),
          ("bmcRecovered", 0, "hsBmcRecovered"), ("sensorThreshold", 5, "hsSensorThresholdCrossed"),
          ("fanFailure", 3, "hsFanFailure"), ("authAlarm", 1, "hsPathAuthAlarm"),
          ("stateDirUnwritable", 0, "hsStateDirUnwritable"),
          ("stateDirRecovered", 0, "hsStateDirRecovered"),
          ("replicationDegraded", 0, "hsReplicationDegraded"),
          ("replicationRestored", 0, "hsReplicationRestored"),
          ("replicationRecordsDropped", 0, "hsReplicationRecordsDropped"),
          ("addressAcquired", 1, "hsAddressAcquired"), ("addressReleased", 1, "hsAddressReleased"),
          ("addressFailed", 1, "hsAddressFailed"),
          ("switchoverHoldDown", 0, "hsSwitchoverHoldDown"),
          ("replicationHot", 4, "hsReplicationHotChange")]


def test_notifications(bed, agent, notifications):
    check(sorted(notifications) == sorted([e[2] for e in EVENTS] + ["hsStateResync"]),
          "every MIB notification is exercised (%s)" % sorted(notifications))
    start = len(bed.traps("v2c"))
    seqs = []
    for ev, idx, _ in EVENTS:
        r = agent.cmd("notify %s %d" % (ev, idx))
        seqs.append(int(r.split()[1]))
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "notify() numbers consecutively %s" % seqs)
    ts = bed.wait_traps(lambda t: len(t) >= start + len(EVENTS))[start:]
    check([t["trap"] for t in ts] == [e[2] for e in EVENTS],
          "traps in order: %s" % [t["trap"] for t in ts])
    check([t["seq"] for t in ts] == seqs, "trap sequence numbers %s == %s" % ([t["seq"] for t in ts], seqs))
    pd = ts[0]["varbinds"] if ts else []
    check(any(n == "HOTSTANDBY-MIB::hsPathName.2" and v == "serial0" for n, _, v in pd),
          "hsPathDown carries hsPathName.2 (%s)" % pd)
    check(any(n == "HOTSTANDBY-MIB::hsPathDiag.2" and "detectTimeExpired" in v for n, _, v in pd),
          "hsPathDown carries the diagnostic")
    informs = bed.wait_traps(lambda t: sum(1 for x in t if x["seq"] in seqs) >= len(seqs), security="v3")
    check(sum(1 for x in informs if x["seq"] in seqs) == len(seqs), "v3 informs arrive too")
    seq_now = bed.get1("hsNotificationSeq.0")[1]
    check(seq_now == str(seqs[-1]), "hsNotificationSeq = last sequence (%s)" % seq_now)


def wait_readable(bed, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if bed.get1("hsLocalRole.0", timeout="0.2")[1] == "active(3)":
                return time.time() - t0
        except RuntimeError:
            pass
        time.sleep(0.05)
    return None


def test_restart(bed, agent):
    bed.kill_snmpd()
    time.sleep(0.3)
    s1 = int(agent.cmd("notify pathDown 1").split()[1])
    s2 = int(agent.cmd("notify peerLost 0").split()[1])
    st = agent.cmd("stats")
    check("connected=0" in st and "queued=2" in st, "queued while snmpd is away: %s" % st)
    start = len(bed.traps("v2c"))
    bed.start_snmpd()
    back = wait_readable(bed, 5.0)
    check(back is not None and back <= 2.0, "objects back within 2 s of snmpd's restart (%.3fs)" % (back or -1))
    print("restart: objects back %.0f ms after snmpd answered" % ((back or 0) * 1000), flush=True)
    ts = bed.wait_traps(lambda t: len(t) >= start + 3)[start:]
    names = [t["trap"] for t in ts]
    check(names[:3] == ["hsPathDown", "hsPeerLost", "hsStateResync"],
          "queued notifications then hsStateResync: %s" % names)
    check([t["seq"] for t in ts[:3]] == [s1, s2, s2 + 1], "sequence continues across the restart %s"
          % [t["seq"] for t in ts[:3]])


def test_hung_master(bed, agent):
    bed.stop_snmpd()
    try:
        time.sleep(0.2)
        r = agent.cmd("measure 2000")
        print("hung snmpd: %s" % r, flush=True)
        vals = dict(kv.split("=") for kv in r.split()[1:])
        # A call that waited for SNMP would take the AgentX timeout (1 s); allow scheduler noise.
        check(int(vals["max_publish_us"]) < 100000 and int(vals["max_notify_us"]) < 100000,
              "publish()/notify() never block with snmpd stopped (%s)" % r)
        time.sleep(2.5)  # ping timeouts and reconnect attempts run meanwhile
        r2 = agent.cmd("measure 200")
        vals = dict(kv.split("=") for kv in r2.split()[1:])
        check(int(vals["max_publish_us"]) < 100000 and int(vals["max_notify_us"]) < 100000,
              "still non-blocking while reconnecting to a hung snmpd (%s)" % r2)
    finally:
        bed.cont_snmpd()
    back = wait_readable(bed, 10.0)
    check(back is not None, "objects readable again after SIGCONT (%.2fs)" % (back or -1))
    seq = int(agent.cmd("notify redundancyRestored 0").split()[1])
    ts = bed.wait_traps(lambda t: any(x["seq"] == seq for x in t), timeout=15)
    check(any(x["seq"] == seq for x in ts),
          "notifications flow again after SIGCONT (%s)" % agent.cmd("stats"))
    st = agent.cmd("stats")
    print("after hang: %s" % st, flush=True)
    vals = dict(kv.split("=") for kv in st.split()[1:])
    check(int(vals["dropped"]) > 0, "the bounded queue dropped the oldest while snmpd was hung")
    ts = bed.traps("v2c")
    seqs = [t["seq"] for t in ts]
    check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
          "sequence numbers only increase in the trap log (gaps show the drops)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--mib-dir", required=True)
    ap.add_argument("--ietf-dir")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    try:
        dirs = find_mib_dirs(a.mib_dir, a.ietf_dir)
    except RuntimeError as e:
        print("SKIP: this test reads and writes HOTSTANDBY-MIB by name. %s" % e)
        return 77
    objects, notifications = mib_objects(dirs, a.mib_dir)
    work = tempfile.mkdtemp(prefix="hs-snmp-")
    bed = SnmpBed(work, dirs)
    agent = None
    try:
        bed.start_snmptrapd()
        # The daemon starts first; snmpd comes later.
        agent = Agent(a.agent, bed.agentx_socket, os.path.join(work, "agent.log"))
        time.sleep(1.2)
        check("connected=0" in agent.cmd("stats"), "not connected before snmpd runs")
        bed.start_snmpd()
        r = agent.cmd("wait_connects 1 3000")
        check(r.startswith("CONNECTED"), "connects to an snmpd started later (%s)" % r)
        ts = bed.wait_traps(lambda t: any(x["trap"] == "hsStateResync" for x in t))
        check(any(x["trap"] == "hsStateResync" for x in ts), "hsStateResync after the first connection")
        for name, fn in [("reads", lambda: test_reads(bed, objects)),
                         ("sets", lambda: test_sets(bed, agent, objects)),
                         ("notifications", lambda: test_notifications(bed, agent, notifications)),
                         ("restart", lambda: test_restart(bed, agent)),
                         ("hung master", lambda: test_hung_master(bed, agent))]:
            t0 = time.time()
            try:
                fn()
            except Exception as e:  # report and go on with the next group
                check(False, "%s raised %r" % (name, e))
            print("-- %s done in %.1fs" % (name, time.time() - t0), flush=True)
        bye = agent.close()
        agent = None
        check(bye.startswith("BYE"), "clean stop (%s)" % bye)
    finally:
        if agent:
            agent.p.kill()
            agent.p.wait()
        bed.close()
    print("snmp integration: %d checks passed, %d failed" % (PASSES[0], len(FAILS)))
    if FAILS or a.keep:
        print("work directory kept: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
