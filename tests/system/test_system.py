#!/usr/bin/env python3
"""Daemon-level system tests (issues 3 and 4): two real hotstandbyd on loopback, one ipmi_sim
standing for the chassis BMC (both modules manage it), one snmpd per module and one snmptrapd.
The bed is tests/fixtures/system/sysbed.py.

    test_system.py --daemon D --hsctl H --plugin hsfix_bmc.so --source-dir SRC --scenario NAME

Scenarios (one ctest each): replication, replication_faults, takeover, reconcile, fans,
snmp_switchover, snmp_notifications, snmpd_sigstop, snmpd_kill, snmp_reload, snmp_walk,
stale_command; `--scenario all` runs them in turn. Exit 0 pass, 1 fail, 77 skip.
Nothing sleeps as an assertion: every check waits for a condition with a timeout.
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "system"))
import sysbed as S  # noqa: E402
from sysbed import SystemBed, wait_for, log  # noqa: E402


class Failed(AssertionError):
    pass


def check(cond, what, *details):
    if not cond:
        raise Failed(what + ("".join("\n    " + str(d) for d in details) if details else ""))
    log("ok: %s" % what)


def power_counters(bed):
    st = bed.bmc.status()
    return {k: st[k] for k in ("power_ons", "power_offs", "resets", "soft_shutdowns")}


def expect_refused(node, args, active_n, bed):
    """A control command on the standby: exit 1, code not_active, text naming the active."""
    p = node.hsctl(*args)
    check(p.returncode == 1, "%s refuses `hsctl %s` with exit 1" % (node.name, " ".join(args)),
          "rc=%d stdout=%r stderr=%r" % (p.returncode, p.stdout, p.stderr))
    text = p.stdout + p.stderr
    check("not_active" in text and re.search(r"\bnode %d\b" % bed.nodes[active_n].node_id, text),
          "%s's refusal names the active (node %d)" % (node.name, active_n), text.strip())
    return text


# ---- 1. takeover ---------------------------------------------------------------------------------
def sc_takeover(a):
    with bed_for(a, "takeover", plugin_options="fan_sensor0=4 fan_sensor1=5 power=0") as bed:
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        check(n1.role() == "ACTIVE" and n2.role() == "STANDBY", "node1 ACTIVE, node2 STANDBY")
        bed.wait_driving(1)
        check(bed.bmc.power() == "off", "ipmitool: chassis power off at start (plugin power=0)")

        p = n1.hsctl("chassis", "power", "on")
        check(p.returncode == 0 and "Up/On" in p.stdout, "node1 (active): `hsctl chassis power on`",
              p.stdout, p.stderr)
        check(wait_for(lambda: bed.bmc.power() == "on", 10), "ipmitool sees the chassis power on")
        check(wait_for(lambda: n1.hsctl_json("chassis", "power", "status")["power"] == "on", 10),
              "node1 reports power on (confirmed by chassis status)")

        before = power_counters(bed)
        expect_refused(n2, ["chassis", "power", "off"], 1, bed)
        check(bed.bmc.power() == "on", "ipmitool: power still on after the standby's refusal")
        check(power_counters(bed) == before, "the BMC received no power command from the standby",
              before, power_counters(bed))

        t_kill = n1.kill9()
        log("kill -9 node1")
        bed.wait_role(2, "ACTIVE", timeout=10)
        log("node2 ACTIVE %.0f ms after the kill" % ((time.time() - t_kill) * 1000))
        bed.wait_driving(2)
        p = n2.hsctl("chassis", "power", "off")
        check(p.returncode == 0 and "Down/Off" in p.stdout,
              "node2 (new active): `hsctl chassis power off`", p.stdout, p.stderr)
        check(wait_for(lambda: bed.bmc.power() == "off", 10), "ipmitool sees the chassis power off")

        n1.start()
        st = bed.wait_healthy(timeout=20)
        check(st[1]["role"] == "STANDBY" and st[2]["role"] == "ACTIVE",
              "restarted node1 rejoins as STANDBY", st[1]["role"], st[2]["role"])
        before = power_counters(bed)
        expect_refused(n1, ["chassis", "power", "on"], 2, bed)
        for args in (["chassis", "power", "cycle"], ["fan", "duty", "0", "50"],
                     ["fan", "mode", "auto"]):
            expect_refused(n1, args, 2, bed)
        check(bed.bmc.power() == "off", "ipmitool: power still off after node1's refusals")
        check(power_counters(bed) == before, "the BMC received no power command from node1",
              before, power_counters(bed))


# ---- 2. reconcile without toggling ----------------------------------------------------------------
def sc_reconcile(a):
    with bed_for(a, "reconcile") as bed:
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        bed.wait_driving(1)
        check(bed.bmc.power() == "on", "ipmitool: power on before the kill")
        # The standby reads (never writes) the chassis too: its snapshot knows power is on.
        check(wait_for(lambda: n2.chassis().get("power") == "on", 10),
              "standby's own chassis read says power on")
        before = power_counters(bed)
        log("BMC power counters before the kill: %s" % before)

        seen = {"requested": set(), "power": set(), "fail_safe": set(), "samples": 0}
        stop = threading.Event()

        def sampler():  # node2's chassis snapshot, every ~20 ms, through the takeover
            while not stop.is_set():
                try:
                    c = n2.request({"cmd": "chassis.status"}).get("result") or {}
                    seen["requested"].add(c.get("requested"))
                    seen["power"].add(c.get("power"))
                    seen["fail_safe"].add(c.get("fail_safe"))
                    seen["samples"] += 1
                except Exception:
                    pass
                time.sleep(0.02)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        try:
            n1.kill9()
            oem0 = bed.bmc.status()["oem_cmds"]       # node1 is gone: from here on only node2
            bed.wait_role(2, "ACTIVE", timeout=10)
            # Takeover done on the chassis side: node2 sent its fan commands (fail-safe first),
            # has fresh readings, runs the thermal policy, lifted the fail-safe (35 C -> 25 %).
            wait_for(lambda: bed.bmc.status()["oem_cmds"] > oem0, 10,
                     what="node2's first OEM fan command at the BMC")
            log("node2 sent its first fan command")
            wait_for(lambda: (lambda c: c.get("bmc_access") == "ok" and not c.get("fail_safe"))(
                n2.chassis()), 15, what="node2 driving the chassis (fail-safe lifted)")
            log("node2: BMC access ok, fail-safe lifted")
            wait_for(lambda: bed.bmc.status().get("duty0") == 25, 15,
                     what="node2's thermal policy sets zone 0 to curve(35 C) = 25 %")
            log("BMC: zone 0 back at 25 %")
            # A little longer: a command sent late would show in the counters.
            wait_for(lambda: seen["samples"] >= 25, 10)
        finally:
            stop.set()
            th.join()
        log("node2 chassis snapshot through the takeover: requested %s power %s fail_safe %s "
            "(%d samples)" % (sorted(map(str, seen["requested"])), sorted(map(str, seen["power"])),
                              sorted(map(str, seen["fail_safe"])), seen["samples"]))
        check(bed.bmc.power() == "on", "ipmitool: power still on after the takeover")
        after = power_counters(bed)
        check(after == before, "no power command reached the BMC during/after the takeover",
              before, after)
        check(seen["requested"] <= {"none"}, "node2's requested transition stayed none",
              seen["requested"])
        check("off" not in seen["power"], "node2 never believed the power was off", seen["power"])
        c = n2.chassis()
        check(c["power"] == "on" and c["requested"] == "none", "node2: power on, requested none", c)
        text = n2.log_text()
        check(re.search(r"event=chassis_control state=driving", text),
              "node2 logged that it drives the chassis")


# ---- 3. fans ----------------------------------------------------------------------------------
def zone(fs, z):
    return next((f for f in fs["fans"] if f["zone"] == z), None)


def sc_fans(a):
    with bed_for(a, "fans") as bed:
        bed.start()
        bed.wait_healthy()
        n1 = bed.nodes[1]
        bed.wait_driving(1)
        exp0 = S.curve([[30, 20], [50, 40], [70, 100]], 35)   # CPU Temp 35 C at start -> 25 %
        exp1 = S.curve([[20, 30], [60, 70]], 30)              # System Temp 30 C -> 40 %
        fs = wait_for(lambda: (lambda f: f if zone(f, 0) and zone(f, 0)["duty_pct"] == exp0 and
                               zone(f, 1)["duty_pct"] == exp1 else None)(
            n1.hsctl_json("fan", "status")), 15)
        check(fs, "`hsctl fan status --json` on the active shows the curve's duty "
              "(zone0 %d %%, zone1 %d %%)" % (exp0, exp1), n1.hsctl_json("fan", "status"))
        check(fs.get("profile") == "supermicro", "fan profile supermicro", fs.get("profile"))
        check(wait_for(lambda: bed.bmc.status().get("duty0") == exp0, 10),
              "the BMC's zone 0 duty is %d %%" % exp0, bed.bmc.status())
        check(wait_for(lambda: bed.bmc.fan_rpm("FAN1") == exp0 * 100, 10),
              "ipmitool: FAN1 at %d RPM" % (exp0 * 100), bed.bmc.fan_rpm("FAN1"))

        bed.bmc.set_sensor(1, 60)        # CPU Temp -> 60 C through the ipmi_sim console
        log("console: CPU Temp set to 60 C")
        hot = S.curve([[30, 20], [50, 40], [70, 100]], 60)    # 70 %
        check(wait_for(lambda: (zone(n1.hsctl_json("fan", "status"), 0) or {}).get("duty_pct")
                       == hot, 10), "hsctl fan status: zone 0 duty rises to %d %%" % hot,
              n1.hsctl_json("fan", "status"))
        check(wait_for(lambda: bed.bmc.status().get("duty0") == hot, 10),
              "the BMC's zone 0 duty is %d %%" % hot, bed.bmc.status())
        check(wait_for(lambda: bed.bmc.fan_rpm("FAN1") == hot * 100, 10),
              "ipmitool sdr: FAN1 rises to %d RPM" % (hot * 100), bed.bmc.fan_rpm("FAN1"))
        check(wait_for(lambda: (zone(n1.hsctl_json("fan", "status"), 0) or {}).get("rpm")
                       == hot * 100, 10), "hsctl fan status: zone 0 reads %d RPM" % (hot * 100),
              n1.hsctl_json("fan", "status"))
        sens = {s["name"]: s for s in n1.hsctl_json("sensor", "list")["sensors"]}
        check(wait_for(lambda: {s["name"]: s for s in n1.hsctl_json("sensor", "list")["sensors"]}
                       ["CPU Temp"]["value"] == 60.0, 10),
              "hsctl sensor list: CPU Temp 60", sens.get("CPU Temp"))
        check(bed.bmc.status().get("duty1") == exp1, "zone 1 unchanged (its sensor did not move)",
              bed.bmc.status())


# ---- 4. switchover by snmpset ---------------------------------------------------------------------
def sc_snmp_switchover(a):
    S.need_mib_names(a.source_dir, a.ietf_dir)
    with bed_for(a, "snmpswitch") as bed:
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        s1, s2 = bed.snmp[1], bed.snmp[2]
        check(wait_for(lambda: "active" in s1.get1("hsLocalRole.0")[1], 10),
              "node1's snmpd: hsLocalRole active", s1.get1("hsLocalRole.0"))
        check(wait_for(lambda: "standby" in s2.get1("hsLocalRole.0")[1], 10),
              "node2's snmpd: hsLocalRole standby")
        ok, text = s2.set("hsSwitchoverAction.0", "i", "2")
        check(not ok and "inconsistentValue" in text,
              "snmpset switchover on the STANDBY's agent is refused (inconsistentValue)", text)
        check(n1.role() == "ACTIVE" and n2.role() == "STANDBY", "roles unchanged after the refusal")
        ok, text = s1.set("hsSwitchoverAction.0", "i", "2")
        check(ok, "snmpset hsSwitchoverAction.0 = switchover(2) (SNMPv3 authPriv) on the active",
              text)
        check(wait_for(lambda: n2.role() == "ACTIVE" and n1.role() == "STANDBY", 10),
              "roles moved: node2 ACTIVE, node1 STANDBY (hsctl status)", bed.roles())
        st = bed.wait_healthy()
        for n in (1, 2):
            js = bed.nodes[n].hsctl_json("status")
            check(js["role"] in ("active", "standby") and
                  js["role"] == ("standby" if n == 1 else "active"),
                  "`hsctl status --json` on node%d: %s" % (n, js["role"]))
        check(st[2]["last_switchover"]["reason"] == "manual", "node2: last switchover manual",
              st[2]["last_switchover"])
        check(wait_for(lambda: "active" in s2.get1("hsLocalRole.0")[1], 10),
              "node2's snmpd: hsLocalRole active")
        check(wait_for(lambda: "ok" in s1.get1("hsLastControlResult.0")[1], 5),
              "node1: hsLastControlResult ok", s1.get1("hsLastControlResult.0"))


# ---- 5. notifications ------------------------------------------------------------------------------
def find_in_order(traps, steps):
    """Indices of the first subsequence of `traps` matching the predicates `steps`, or None."""
    out, i = [], 0
    for pred in steps:
        while i < len(traps) and not pred(traps[i]):
            i += 1
        if i == len(traps):
            return None
        out.append(i)
        i += 1
    return out


def is_trap(name, **vb):
    def pred(t):
        if t["trap"] != name:
            return False
        for k, v in vb.items():
            val = S.trap_value(t, k)
            if val is None or v not in val:
                return False
        return True
    pred.__name__ = "%s%s" % (name, vb or "")
    return pred


def seqs_ok(traps):
    """Sequence numbers strictly increasing by one (no gap: none lost; no repeat)."""
    s = [t["seq"] for t in traps]
    return all(b == a + 1 for a, b in zip(s, s[1:])), s


def sc_snmp_notifications(a):
    S.need_mib_names(a.source_dir, a.ietf_dir)
    with bed_for(a, "snmptraps") as bed:
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        # Both subagents connected, start-up notifications delivered: marks to count from.
        mark = {n: bed.quiesce_traps(n) for n in (1, 2)}
        log("notification marks (hsNotificationSeq after start-up): %s" % mark)
        bed.wait_healthy()

        # (a) serial path cut: stop socat (SIGTERM)
        n1_base = len(bed.traps(1))
        bed.serial.cut()
        log("serial path cut (socat stopped)")
        for n in (1, 2):
            bed.wait_traps(lambda ts: any(is_trap("hsPathDown", hsPathName="serial0")(t)
                                          for t in ts), 10, node=n,
                           after_seq=mark[n], what="node%d's hsPathDown serial0" % n)
        check(n1.role() == "ACTIVE" and n2.role() == "STANDBY", "no switchover on a path cut")
        # (b) restore: socat again behind the same links
        bed.serial.start()
        log("serial path restored (socat restarted, same links)")
        for n in (1, 2):
            bed.wait_traps(lambda ts: any(is_trap("hsPathUp", hsPathName="serial0")(t)
                                          for t in ts), 15, node=n, after_seq=mark[n],
                           what="node%d's hsPathUp serial0" % n)
        bed.wait_healthy()
        # (c) kill -9 the active
        n1.kill9()
        log("kill -9 node1 (active)")
        bed.wait_traps(lambda ts: any(is_trap("hsSwitchover", hsLastSwitchoverReason="peerLost")(t)
                                      for t in ts), 10, node=2, after_seq=mark[2],
                       what="node2's hsSwitchover (peerLost)")
        n1_first = bed.traps(1)[n1_base:]          # node 1's first incarnation, from the cut on
        n1_count = len(bed.traps(1))
        # (d) node1 back, then a graceful switchover from node2
        n1.start()
        bed.wait_healthy(timeout=20)
        p = n2.hsctl("switchover")
        check(p.returncode == 0, "`hsctl switchover` on node2", p.stdout, p.stderr)
        bed.wait_traps(lambda ts: any(is_trap("hsSwitchover", hsLastSwitchoverReason="manual")(t)
                                      for t in ts), 10, node=2, after_seq=mark[2],
                       what="node2's hsSwitchover (manual)")
        check(wait_for(lambda: n1.role() == "ACTIVE" and n2.role() == "STANDBY", 10),
              "roles after the graceful switchover: node1 ACTIVE", bed.roles())
        wait_for(lambda: any(is_trap("hsSwitchover", hsLastSwitchoverReason="manual")(t)
                             for t in bed.traps(1)[n1_count:]), 10)
        last2 = bed.quiesce_traps(2)

        t2 = bed.traps(node=2, after_seq=mark[2])
        log("node2's notifications: %s" % ", ".join("%s#%s" % (t["trap"], t["seq"]) for t in t2))
        steps = [is_trap("hsPathDown", hsPathName="serial0"),
                 is_trap("hsPathUp", hsPathName="serial0"),
                 is_trap("hsPeerLost"),
                 is_trap("hsSwitchover", hsLastSwitchoverReason="peerLost"),
                 is_trap("hsSwitchover", hsLastSwitchoverReason="manual")]
        idx = find_in_order(t2, steps)
        check(idx is not None, "node2's agent: hsPathDown(serial0) < hsPathUp(serial0) < "
              "hsPeerLost < hsSwitchover(peerLost) < hsSwitchover(manual), in snmptrapd's log",
              [(t["trap"], t["seq"]) for t in t2])
        sw = t2[idx[3]]
        check("active" in (S.trap_value(sw, "hsLocalRole") or ""),
              "hsSwitchover(peerLost) carries hsLocalRole active", sw["line"])
        sw = t2[idx[4]]
        check("standby" in (S.trap_value(sw, "hsLocalRole") or ""),
              "hsSwitchover(manual) from node2 carries hsLocalRole standby", sw["line"])
        ok, sq = seqs_ok(t2)
        check(ok and sq[0] == mark[2] + 1 and sq[-1] == last2,
              "node2's hsNotificationSeq: %d..%d, one more per notification, none missing" % (
                  mark[2] + 1, last2), sq)
        # Node 1: its first incarnation from the cut to the kill, then the restarted daemon.
        log("node1's notifications (1st run, from the cut): %s" % ", ".join(
            "%s#%s" % (t["trap"], t["seq"]) for t in n1_first))
        check(find_in_order(n1_first, steps[:2]) is not None,
              "node1's agent: hsPathDown(serial0) then hsPathUp(serial0)",
              [(t["trap"], t["seq"]) for t in n1_first])
        ok, sq = seqs_ok(n1_first)
        check(ok and (not sq or sq[0] == mark[1] + 1),
              "node1 (1st run): hsNotificationSeq one more per notification from %d" % (
                  mark[1] + 1), sq)
        n1_second = bed.traps(1)[n1_count:]
        ok, sq = seqs_ok(n1_second)
        check(ok, "node1 (restarted): hsNotificationSeq one more per notification", sq)
        check(find_in_order(n1_second, [is_trap("hsSwitchover", hsLastSwitchoverReason="manual",
                                                hsLocalRole="active")]) is not None,
              "node1 (restarted) reported the manual switchover that made it active",
              [(t["trap"], t["seq"]) for t in n1_second])
        # Every notification names its module: slot 0 -> 1, slot 1 -> 2 (sender known by the
        # trap community of its snmpd).
        # Checked last: this is what fails while the daemon notifies before its first snapshot
        # is published (see the report / tests/system/README.md).
        wrong = [(S.trap_sender(t), t["trap"], t["seq"], S.trap_module(t)) for t in bed.traps()
                 if S.trap_module(t) != bed.nodes[S.trap_sender(t)].slot + 1]
        check(not wrong, "every notification carries its own module's hsLocalModuleIndex "
              "(node, trap, seq, hsLocalModuleIndex sent)", wrong)
        unnamed = [(S.trap_sender(t), t["trap"], t["seq"]) for t in bed.traps()
                   if t["trap"] in ("hsPathDown", "hsPathUp") and
                   (S.trap_value(t, "hsPathName") or '""').strip('" ') == ""]
        check(not unnamed, "every hsPathDown/hsPathUp names its path (hsPathName not empty)",
              unnamed)

        # (e) The switchover rate guard (heartbeat.switchover_limit 3 in 600 s by default): the
        # manual switchover of (d) was the first; two more reach the limit, and both modules
        # send hsSwitchoverHoldDown (seen in snmptrapd's log); the fourth is refused by hsctl
        # (exit 1, busy, the reason) and by SNMP (inconsistentValue), and the roles stay.
        for frm, to in ((1, 2), (2, 1)):
            wait_for(lambda: bed.nodes[to].hsctl_json("replication").get("readiness") == "hot",
                     10)
            p = bed.nodes[frm].hsctl("switchover")
            check(p.returncode == 0, "`hsctl switchover` on node%d (within the limit)" % frm,
                  p.stdout, p.stderr)
            check(wait_for(lambda: bed.nodes[to].role() == "ACTIVE" and
                           bed.nodes[frm].role() == "STANDBY", 10),
                  "node%d ACTIVE after the switchover" % to, bed.roles())
        for n in (1, 2):
            bed.wait_traps(lambda ts: any(is_trap("hsSwitchoverHoldDown")(t) for t in ts), 10,
                           node=n, after_seq=mark[n],
                           what="node%d's hsSwitchoverHoldDown in snmptrapd's log" % n)
        hd = [t for t in bed.traps(node=1) if t["trap"] == "hsSwitchoverHoldDown"]
        log("node1's hsSwitchoverHoldDown in snmptrapd's log: %s" % (hd[-1]["line"] if hd else None))
        check(hd and "manual" in (S.trap_value(hd[-1], "hsLastSwitchoverReason") or ""),
              "hsSwitchoverHoldDown names the reason of the switchover that reached the limit",
              hd[-1]["line"] if hd else None)
        wait_for(lambda: n2.hsctl_json("replication").get("readiness") == "hot", 10)
        g = n1.hsctl_json("status").get("switchover_guard", {})
        check(g.get("holding") and g.get("limit") == 3 and g.get("holddowns") == 1,
              "node1's status: switchover_guard holding after the third switchover", g)
        p = n1.hsctl("switchover")
        check(p.returncode == 1 and "busy" in p.stderr and "rate guard" in p.stderr,
              "the fourth `hsctl switchover` is refused: exit 1, busy, the rate guard named",
              p.returncode, p.stdout, p.stderr)
        ok, text = bed.snmp[1].set("hsSwitchoverAction.0", "i", "2")
        check(not ok and "inconsistentValue" in text,
              "snmpset hsSwitchoverAction switchover(2) during the hold-down: inconsistentValue",
              text)
        time.sleep(0.5)
        check(n1.role() == "ACTIVE" and n2.role() == "STANDBY",
              "roles unchanged by the refused switchovers", bed.roles())
        check(re.search(r"event=switchover_holddown limit=3", n1.log_text()),
              "node1 logs event=switchover_holddown")
        out = n1.hsctl("status").stdout
        check("HOLD-DOWN" in out, "`hsctl status` shows the hold-down", out)


# ---- 6. snmpd hung -------------------------------------------------------------------------------
def sc_snmpd_sigstop(a):
    S.need_mib_names(a.source_dir, a.ietf_dir)
    with bed_for(a, "snmpdstop") as bed:
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        s1 = bed.snmp[1]
        check(wait_for(lambda: "active" in s1.get1("hsLocalRole.0")[1], 10),
              "node1's snmpd answers hsLocalRole active")
        mark = {n: bed.quiesce_traps(n) for n in (1, 2)}
        bed.wait_healthy()
        st0 = bed.statuses()
        bad = []
        rx0 = {n: {p["name"]: p["rx"] for p in st0[n]["paths"]} for n in (1, 2)}
        s1.stop_snmpd()
        t_stop = time.time()
        log("snmpd of node1 (the active) SIGSTOPped")
        samples = 0
        try:
            while time.time() - t_stop < 3.0:
                st = bed.statuses()
                samples += 1
                for n in (1, 2):
                    if not st[n]:
                        bad.append("node%d did not answer its control socket" % n)
                        continue
                    if st[n]["role"] != st0[n]["role"]:
                        bad.append("node%d role %s" % (n, st[n]["role"]))
                    for p in st[n]["paths"]:
                        if S.snake(p["state"]) != "up":
                            bad.append("node%d path %s %s" % (n, p["name"], p["state"]))
                time.sleep(0.02)
            st1 = bed.statuses()
        finally:
            s1.cont_snmpd()
        log("SIGCONT after %.1f s (%d status samples)" % (time.time() - t_stop, samples))
        check(not bad, "roles and paths unaffected while snmpd was stopped", bad[:10])
        for n in (1, 2):
            for p in st1[n]["paths"]:
                check(p["rx"] > rx0[n][p["name"]] + 50,
                      "node%d %s heartbeats kept arriving (%d -> %d)" % (
                          n, p["name"], rx0[n][p["name"]], p["rx"]))
            check(st1[n]["switchover_count"] == st0[n]["switchover_count"] and
                  st1[n]["epoch"] == st0[n]["epoch"], "node%d: no switchover, same epoch" % n)
        t_cont = time.time()
        check(wait_for(lambda: "active" in s1.get1("hsLocalRole.0", timeout="1")[1], 10,
                       interval=0.05),
              "subagent answers through snmpd again after SIGCONT (%.1f s)" % (
                  time.time() - t_cont))
        # Objects are live (not a stale registration): a path counter moves between two reads.
        def rx():
            return int(re.match(r"\d+", s1.get1("hsPathFramesReceived.1")[1]).group(0))
        r1 = rx()
        check(wait_for(lambda: rx() > r1, 5), "hsPathFramesReceived.1 keeps counting")
        bed.quiesce_traps(1)
        late = [(n, t["trap"], t["seq"]) for n in (1, 2)
                for t in bed.traps(n, after_seq=mark[n])
                if t["trap"] in ("hsPathDown", "hsPeerLost", "hsSwitchover",
                                 "hsRedundancyDegraded")]
        check(not late, "no path-down/peer-lost/switchover notification from either node", late)
        check(n1.role() == "ACTIVE" and n2.role() == "STANDBY", "roles unchanged at the end")


# ---- 6b. snmpd killed while notifications stream (SIGPIPE) ------------------------------------
def snmp_readable(bed, n):
    try:
        v = bed.snmp[n].get1("hsLocalRole.0", timeout="1")[1]
    except RuntimeError:
        return False
    return "active" in v or "standby" in v


def sc_snmpd_kill(a):
    """Net-SNMP's AgentX transport writes without MSG_NOSIGNAL: a write racing snmpd's death must
    not kill the daemon (SIGPIPE). Witnesses: the process table, the control socket, and the
    restarted snmpd answering HOTSTANDBY-MIB (the subagent registered again)."""
    S.need_mib_names(a.source_dir, a.ietf_dir)
    rounds = int(os.environ.get("HS_SNMPD_KILL_ROUNDS", "12"))
    with bed_for(a, "snmpdkill") as bed:
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        for n in (1, 2):
            check(wait_for(lambda: snmp_readable(bed, n), 10), "node%d's MIB readable" % n)
        st0 = bed.statuses()
        stop = threading.Event()
        flaps = [0]

        def flapper():  # serial path down/up, again and again: a steady stream of notifications
            while not stop.is_set():
                socat = bed.serial.child
                socat.send(signal.SIGSTOP)
                stop.wait(0.12)
                socat.send(signal.SIGCONT)
                flaps[0] += 1
                stop.wait(0.12)

        t = threading.Thread(target=flapper, daemon=True)
        t.start()
        dead = []
        t0 = time.time()
        try:
            for i in range(rounds):
                for n in (1, 2):
                    bed.snmp[n].kill_snmpd()
                time.sleep(0.05 * (i % 4))
                for n in (1, 2):
                    bed.snmp[n].start_snmpd()
                for n in (1, 2):
                    if not bed.nodes[n].alive():
                        dead.append((i, n))
                if dead:
                    break
                for n in (1, 2):
                    check(wait_for(lambda: snmp_readable(bed, n), 10, interval=0.05),
                          "round %d: node%d's subagent registered with the restarted snmpd" % (i, n))
                time.sleep(0.3)  # notifications flow to the new master before the next kill
        finally:
            stop.set()
            t.join()
            bed.serial.child.send(signal.SIGCONT)
        log("%d snmpd kills per node in %.1f s while the serial path flapped %d times" % (
            rounds, time.time() - t0, flaps[0]))
        for n in (1, 2):
            node = bed.nodes[n]
            check(node.alive(), "node%d's hotstandbyd is alive after %d snmpd kills" % (n, rounds),
                  dead, node.tail(20))
        check(not dead, "no daemon died while snmpd was killed (round, node)", dead)
        bed.wait_healthy()
        st1 = bed.statuses()
        for n in (1, 2):
            check(st1[n] is not None, "node%d answers its control socket" % n)
            check(st1[n]["role"] == st0[n]["role"] and
                  st1[n]["switchover_count"] == st0[n]["switchover_count"],
                  "node%d: same role, no switchover" % n)
        seq = {n: bed.notification_seq(n) for n in (1, 2)}
        log("hsNotificationSeq after the kills: %s" % seq)
        check(all(seq[n] and seq[n] > 20 for n in (1, 2)),
              "notifications streamed meanwhile (hsNotificationSeq %s)" % seq)


def unix_connections(path):
    """Connected unix stream sockets bound to `path` (the listener's accepted connections), as the
    kernel lists them in /proc/net/unix (state 03 = connected)."""
    n = 0
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[7] == path and parts[5] == "03":
                n += 1
    return n


def sc_snmp_reload(a):
    """A reload moves node1's subagent to another AgentX socket of its snmpd (which listens on
    both) and changes its ping interval: the kernel's socket table shows the session move from the
    old socket to the new one, snmpd answers HOTSTANDBY-MIB through it, a notification raised
    after it reaches snmptrapd; the same process throughout, no switchover."""
    S.need_mib_names(a.source_dir, a.ietf_dir)
    with bed_for(a, "snmpreload") as bed:
        sn = bed.snmp[1]
        old_sock = sn.agentx_socket
        new_sock = os.path.join(sn.dir, "agentx-b.sock")
        with open(sn.snmpd_conf) as f:
            conf = f.read()
        with open(sn.snmpd_conf, "w") as f:
            f.write(conf.replace("agentXSocket %s\n" % old_sock,
                                 "agentXSocket %s,%s\n" % (old_sock, new_sock)))
        bed.start()
        bed.wait_healthy()
        n1 = bed.nodes[1]
        check(wait_for(lambda: snmp_readable(bed, 1), 10), "node1's MIB readable through snmpd")
        check(wait_for(lambda: unix_connections(old_sock) == 1, 5) and
              unix_connections(new_sock) == 0,
              "node1's subagent is connected to the first socket (kernel socket table)",
              unix_connections(old_sock), unix_connections(new_sock))
        pid0 = n1.pid
        st0 = bed.statuses()
        with open(n1.conf) as f:
            text = f.read()
        check('agentx_socket = "%s"' % old_sock in text, "node1's file names the first socket")
        with open(n1.conf, "w") as f:
            f.write(text.replace('agentx_socket = "%s"' % old_sock,
                                 'agentx_socket = "%s"' % new_sock)
                    .replace("ping_interval_s = 1", "ping_interval_s = 2"))
        before = len(re.findall(r"event=reload_(done|refused)", n1.log_text()))
        n1.signal(signal.SIGHUP)
        check(wait_for(lambda: len(re.findall(r"event=reload_(done|refused)", n1.log_text())) >
                       before, 10), "node1 logged the reload's result")
        line = [ln for ln in n1.log_text().splitlines()
                if re.search(r"event=reload_(done|refused)", ln)][-1]
        check("reload_done" in line and "snmp.agentx_socket" in line and
              "snmp.ping_interval_s" in line, "the reload is applied", line)
        check(wait_for(lambda: unix_connections(new_sock) == 1 and
                       unix_connections(old_sock) == 0, 15, interval=0.1),
              "the session moved to the new socket (kernel socket table)",
              unix_connections(old_sock), unix_connections(new_sock))
        check(wait_for(lambda: snmp_readable(bed, 1), 10), "node1's MIB readable again")
        seq0 = bed.notification_seq(1)
        bed.serial.child.send(signal.SIGSTOP)  # the serial path goes down: pathDown
        try:
            check(wait_for(lambda: bed.traps(node=1, names=["hsPathDown"], after_seq=seq0), 15),
                  "a notification after the reload reaches snmptrapd")
        finally:
            bed.serial.child.send(signal.SIGCONT)
        bed.wait_healthy()
        st1 = bed.statuses()
        check(n1.pid == pid0, "node1 not restarted (pid %s -> %s)" % (pid0, n1.pid))
        for n in (1, 2):
            check(st1[n]["role"] == st0[n]["role"] and
                  st1[n]["switchover_count"] == st0[n]["switchover_count"],
                  "node%d: same role, no switchover" % n)


# ---- 7. snmpwalk ---------------------------------------------------------------------------------
def sc_snmp_walk(a):
    S.need_mib_names(a.source_dir, a.ietf_dir)
    with bed_for(a, "snmpwalk") as bed:
        bed.start()
        bed.wait_healthy()
        n1 = bed.nodes[1]
        s1 = bed.snmp[1]
        bed.wait_driving(1)
        # The sensor and fan tables fill after the first sensor poll.
        wait_for(lambda: len([x for x in n1.hsctl_json("sensor", "list")["sensors"]
                              if x["value"] is not None]) == 5, 10,
                 what="node1's first sensor readings")

        def sensor_rows(w):
            return len([n for n, _, _ in w if "::hsSensorName." in n])

        def walk_checks(expect_power):
            # The MIB shows the snapshot the daemon last published (at least every 500 ms).
            w = wait_for(lambda: (lambda w: w if sensor_rows(w) == 5 else None)(s1.walk()), 5)
            w = w or s1.walk()
            vals = {name.split("::", 1)[-1]: v for name, _, v in w}
            log("snmpwalk of HOTSTANDBY-MIB on the active: %d varbinds" % len(w))
            sensors = sorted(v.strip('"') for k, v in vals.items() if k.startswith("hsSensorName."))
            check(sensors == sorted(["CPU Temp", "System Temp", "12V", "FAN1", "FAN2"]),
                  "walk: hsSensorTable has the BMC's 5 sensors", sensors)
            fans = sorted(v.strip('"') for k, v in vals.items() if k.startswith("hsFanName."))
            check(fans == ["cpu", "system"], "walk: hsFanTable has the 2 zones", fans)
            check("active" in vals.get("hsLocalRole.0", ""), "walk: hsLocalRole.0 active",
                  vals.get("hsLocalRole.0"))
            check("standby" in vals.get("hsPeerRole.0", ""), "walk: hsPeerRole.0 standby",
                  vals.get("hsPeerRole.0"))
            rows = {k.split(".", 1)[1]: v.strip('"') for k, v in vals.items()
                    if k.startswith("hsPathName.")}
            check(len(rows) == 2 and sorted(rows.values()) == ["net0", "serial0"],
                  "walk: hsPathTable has 2 rows (net0, serial0)", rows)
            for i in rows:
                check("up" in vals.get("hsPathOperStatus.%s" % i, ""),
                      "walk: hsPathOperStatus.%s up" % i, vals.get("hsPathOperStatus.%s" % i))
            ps = vals.get("hsChassisPowerState.0", "")
            check(re.match(r"%s\(\d+\)" % expect_power, ps),
                  "walk: hsChassisPowerState.0 = %s" % ps)
            return vals

        ip = bed.bmc.power()
        check(ip == "on", "ipmitool: power on")
        walk_checks(ip)
        p = n1.hsctl("chassis", "power", "off")
        check(p.returncode == 0, "node1: hsctl chassis power off", p.stdout, p.stderr)
        check(wait_for(lambda: bed.bmc.power() == "off", 10), "ipmitool: power off")
        check(wait_for(lambda: re.match(r"off\(", s1.get1("hsChassisPowerState.0")[1]), 10),
              "hsChassisPowerState.0 follows to off")
        vals = walk_checks(bed.bmc.power())
        check("ok" in vals.get("hsChassisBmcAccess.0", ""), "walk: hsChassisBmcAccess ok",
              vals.get("hsChassisBmcAccess.0"))


# ---- 8. a resumed active must not command the chassis after its successor took over -----------
def sc_stale_command(a):
    """Rounds of: the temperature moves, the active is SIGSTOPped for three detection times (the
    standby takes over), SIGCONT. The BMC is the witness: the plugin logs every chassis-changing
    request with its CLOCK_MONOTONIC arrival time and UDP source port, and the ports are mapped to
    the two daemons with `ss -uanp`. Asserted: in no round does a request from the old active
    arrive after the new active's first one.

    Without real-time scheduling (real-time mode makes the race rarer on a quiet machine; it does
    not remove it) and with a 100 ms sensor poll (more rounds with a sensor read in flight at the
    SIGCONT), the code before the command lease let a stale fan duty through in about one round
    in ten here; HS_SYS_STALE_ROUNDS sets the number of rounds (default 40, ~30 s)."""
    rounds = int(os.environ.get("HS_SYS_STALE_ROUNDS", "40"))
    with bed_for(a, "stalecmd", realtime=False) as bed:
        cmd_log = os.path.join(bed.bmc.dir, "ctl.log")
        bed.bmc.plugin_options = "fan_sensor0=4 fan_sensor1=5 cmd_log=%s" % cmd_log
        bed.sensor_poll_ms = 100
        bed.start()
        bed.wait_healthy()
        detection = bed.interval_ms * bed.miss / 1000.0
        pause = 3 * detection
        ports = {}
        temps = [36, 44, 52, 60, 68, 60, 52, 44]
        ti = 0
        results = []
        rng = __import__("random").Random(7)
        t_start = time.monotonic()
        for r in range(rounds):
            st = bed.wait_healthy()
            old = 1 if st[1]["role"] == "ACTIVE" else 2
            new = 3 - old
            bed.wait_driving(old)
            pids = {bed.nodes[n].child.pid: n for n in (1, 2)}
            ports.update({p: pids[pid] for p, pid in S.udp_ports_of(set(pids)).items()})
            sw0 = st[new]["switchover_count"]
            ti = (ti + 1) % len(temps)
            bed.bmc.set_sensor(1, temps[ti])
            time.sleep(rng.uniform(0.0, 0.25))   # land the stop anywhere in a sensor poll
            t_stop = time.monotonic_ns()
            bed.nodes[old].child.send(signal.SIGSTOP)
            ti = (ti + 1) % len(temps)
            bed.bmc.set_sensor(1, temps[ti])      # the temperature moves while it is stopped
            time.sleep(max(0.0, pause - (time.monotonic_ns() - t_stop) / 1e9))
            t_cont = time.monotonic_ns()
            bed.nodes[old].child.send(signal.SIGCONT)
            ok = wait_for(lambda: bed.nodes[new].role() == "ACTIVE" and
                          bed.nodes[old].role() == "STANDBY", 10)
            time.sleep(0.3)                       # let anything late reach the BMC
            pids = {bed.nodes[n].child.pid: n for n in (1, 2)}
            ports.update({p: pids[pid] for p, pid in S.udp_ports_of(set(pids)).items()})
            st1 = bed.statuses()
            t_end = time.monotonic_ns()
            clean = bool(ok and st1[new] and st1[new]["switchover_count"] == sw0 + 1 and
                         st1[old] and st1[old]["role"] == "STANDBY")
            results.append(dict(round=r, old=old, new=new, t_stop=t_stop, t_cont=t_cont,
                                t_end=t_end, clean=clean))
        log("%d rounds in %.1f s" % (rounds, time.monotonic() - t_start))
        entries = bed.bmc.ctl_log(cmd_log)
        stale, after_cont, unknown, no_takeover, disturbed = [], 0, [], 0, 0
        for res in results:
            win = [e for e in entries if res["t_stop"] <= e["t_ns"] <= res["t_end"]]
            if not res["clean"]:
                disturbed += 1
                continue
            first_new = next((e["t_ns"] for e in win if ports.get(e["port"]) == res["new"]), None)
            if first_new is None:
                no_takeover += 1
                continue
            for e in win:
                who = ports.get(e["port"])
                if who is None:
                    unknown.append((res["round"], e))
                if who == res["old"] and e["t_ns"] > res["t_cont"]:
                    after_cont += 1
                if who != res["new"] and e["t_ns"] > first_new:
                    stale.append((res["round"], "node%s" % who, e["kind"], e["data"],
                                  "%.1f ms after the new active's first command" %
                                  ((e["t_ns"] - first_new) / 1e6),
                                  "%.1f ms after SIGCONT" % ((e["t_ns"] - res["t_cont"]) / 1e6)))
        log("BMC log: %d requests; %d rounds clean, %d disturbed (another role change), %d without "
            "a takeover command; requests from the old active after SIGCONT: %d; stale (after the "
            "new active's first): %d" % (len(entries), rounds - disturbed, disturbed, no_takeover,
                                         after_cont, len(stale)))
        for x in stale:
            log("  stale: round %d from %s %s data=%s, %s, %s" % x)
        check(rounds - disturbed - no_takeover >= rounds * 2 // 3,
              "at least two thirds of the rounds were a clean takeover the BMC saw",
              "disturbed %d, no takeover command %d" % (disturbed, no_takeover))
        check(not unknown, "every chassis-changing request came from one of the two daemons",
              unknown[:5])
        check(not stale, "no chassis command from a resumed old active after the new active's "
              "first (%d rounds)" % rounds, *stale[:10])


# ---- replication ---------------------------------------------------------------------------------
def shm_dump(a, node):
    """The store NODE publishes in shared memory, read by hs_shm_dump (C, repl/hs_shm.h alone):
    a witness that does not ask the daemon. None when the region cannot be read."""
    name = "/hs-bed-%d-%d" % (os.getpid(), node.node_id)
    p = subprocess.run([a.shm_dump, name], capture_output=True, text=True, timeout=10)
    return json.loads(p.stdout) if p.returncode == 0 else None


def shm_name(node):
    """NODE's node.shm_name in a bed (tests/fixtures/bed/common.py default_shm_name)."""
    return "/hs-bed-%d-%d" % (os.getpid(), node.node_id)


def shm_record(d, kind, index=0):
    for r in (d or {}).get("records", []):
        if r["kind"] == kind and r["index"] == index:
            return r
    return None


KIND_FAN_MODE, KIND_JOURNAL, KIND_POWER = 1, 16, 33
FAN_MODE_AUTO = 1


def same_ordered(d1, d2):
    return (d1 and d2 and d1["seq"][0] == d2["seq"][0] and d1["digest"][0] == d2["digest"][0]
            and d1["seq"][0] > 0)


READINESS_MIB = {"none": 1, "cold": 2, "syncing": 3, "hot": 4}


def mib_num(v):
    """The number in an snmpwalk value: 'true(1)' -> 1, '12 records' -> 12."""
    m = re.search(r"\((-?\d+)\)|(-?\d+)", v or "")
    return int(m.group(1) or m.group(2)) if m else None


def repl_mib_agrees(bed, n):
    """(agrees, got, want): node n's hsReplication (snmpwalk through its snmpd) against its
    `hsctl replication --json`; the MIB shows the last published snapshot (at most 500 ms old)."""
    j = bed.nodes[n].hsctl_json("replication")
    walk = bed.snmp[n].walk("HOTSTANDBY-MIB::hsReplication")
    got = {name.split("::", 1)[-1]: mib_num(v) for name, _, v in walk}
    writer = j.get("store_role") == "writer"
    want = {"hsReplWriter.0": 1 if writer else 2,
            "hsReplReadiness.0": READINESS_MIB[j["readiness"]],
            "hsReplStoreEpoch.0": j["epoch"], "hsReplStoreSequence.0": j["seq_ordered"],
            "hsReplRecords.0": j["records"], "hsReplLagRecords.0": j["lag_records"],
            "hsReplDegraded.0": 1 if j["degraded"] else 2,
            "hsReplStandbyJoined.0": 1 if j.get("standby_joined") else 2,
            "hsReplAckedSequence.0": j.get("acked_ordered", 0),
            "hsReplSnapshotsSent.0": j["counters"]["snapshots_sent"],
            "hsReplSnapshotsReceived.0": j["counters"]["snapshots_received"],
            "hsReplConflicts.0": 0, "hsReplDroppedRecords.0": 0}
    return {k: got.get(k) for k in want} == want, got, want


def check_repl_mib(a, bed):
    """hsReplication on both modules: writer on the active, hot on the standby, the same
    watermark as the other module's shared memory, values agreeing with hsctl."""
    for n in (1, 2):
        res = wait_for(lambda: (lambda r: r if r[0] else None)(repl_mib_agrees(bed, n)), 5)
        check(res, "node%d: snmpwalk hsReplication agrees with `hsctl replication --json`" % n,
              *repl_mib_agrees(bed, n)[1:])
    _, m1, _ = repl_mib_agrees(bed, 1)
    _, m2, _ = repl_mib_agrees(bed, 2)
    check(m1["hsReplWriter.0"] == 1 and m1["hsReplStandbyHot.0"] == 1 and
          m1["hsReplReadiness.0"] == 1 and m1["hsReplStandbyJoined.0"] == 1,
          "node1 (active): hsReplWriter true, hsReplStandbyHot true, hsReplReadiness none", m1)
    check(m2["hsReplWriter.0"] == 2 and m2["hsReplReadiness.0"] == 4 and
          m2["hsReplStandbyHot.0"] == 1 and m2["hsReplSnapshotsReceived.0"] >= 1,
          "node2 (standby): hsReplWriter false, hsReplReadiness hot, a snapshot received", m2)
    d1 = shm_dump(a, bed.nodes[1])
    check(d1 and m2["hsReplStoreEpoch.0"] == d1["epoch"] and m2["hsReplStoreEpoch.0"] > 0,
          "node2's hsReplStoreEpoch = node1's store epoch in its shared memory", m2, d1)


def sc_replication(a):
    if not a.shm_dump:
        log("skip: no --shm-dump tool")
        sys.exit(77)
    with bed_for(a, "replication") as bed:
        cmd_log = os.path.join(bed.bmc.dir, "ctl.log")
        bed.bmc.plugin_options = "fan_sensor0=4 fan_sensor1=5 cmd_log=%s" % cmd_log
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        bed.wait_driving(1)
        check(wait_for(lambda: n2.hsctl_json("replication").get("readiness") == "hot", 10),
              "node2's mirror turns hot", n2.hsctl_json("replication"))
        r1 = n1.hsctl_json("replication")
        check(r1.get("store_role") == "writer" and r1.get("standby_joined"),
              "node1 is the store's writer with a joined standby", r1)
        check_repl_mib(a, bed)

        # An acknowledged intent change: answered only once the standby holds it.
        p = n1.hsctl("fan", "mode", "auto")
        check(p.returncode == 0 and "the standby holds it" in p.stdout,
              "node1: `hsctl fan mode auto` answers once the standby holds it", p.stdout,
              p.stderr)
        # The witness: node2's shared memory, read without the daemon, holds fan mode auto, and
        # node2's and node1's ordered streams are equal (position and digest).
        d2 = wait_for(lambda: (lambda d: d if (shm_record(d, KIND_FAN_MODE) or {}).get(
            "i", [0])[0] == FAN_MODE_AUTO else None)(shm_dump(a, n2)), 5)
        check(d2, "node2's shared memory: fan mode record = auto", shm_dump(a, n2))
        check(wait_for(lambda: same_ordered(shm_dump(a, n1), shm_dump(a, n2)), 5),
              "both modules' shared memory: same ordered position and digest",
              shm_dump(a, n1), shm_dump(a, n2))
        check(wait_for(lambda: shm_record(shm_dump(a, n2), KIND_POWER) is not None, 5),
              "node2's shared memory: the chassis power telemetry of node1")
        mode_rec = shm_record(shm_dump(a, n2), KIND_FAN_MODE)

        # kill -9 the active: node2 takes over with what its mirror holds.
        t_kill = n1.kill9()
        log("kill -9 node1")
        bed.wait_role(2, "ACTIVE", timeout=10)
        log("node2 ACTIVE %.0f ms after the kill" % ((time.time() - t_kill) * 1000))
        check(wait_for(lambda: re.search(r"event=replication_takeover epoch=\d+ hot=true .*"
                                         r"fan_mode=auto", n2.log_text()), 5),
              "node2 inherits the replicated intent (hot, fan mode auto) at the takeover",
              n2.tail(20))
        d2 = wait_for(lambda: (lambda d: d if d and d["role"] == 2 else None)(shm_dump(a, n2)), 5)
        check(d2, "node2's shared memory: role active", shm_dump(a, n2))
        kept = shm_record(d2, KIND_FAN_MODE)
        check(kept and kept["seq"] == mode_rec["seq"] and kept["i"][0] == FAN_MODE_AUTO,
              "node2's store keeps node1's fan mode record (same stamp)", kept, mode_rec)
        rows = [r for r in d2["records"] if r["kind"] == KIND_JOURNAL]
        check(rows and rows[-1]["i"][3] == 2 and rows[-1]["i"][4] == d2["epoch"],
              "node2 appended its takeover to the replicated journal (to ACTIVE, its epoch)",
              rows)

        # The old active restarts: it re-joins as the mirror and ends with an equal digest.
        n1.start()
        bed.wait_healthy(timeout=20)
        check(wait_for(lambda: n1.hsctl_json("replication").get("readiness") == "hot", 10),
              "restarted node1's mirror turns hot", n1.hsctl_json("replication"),
              n2.hsctl_json("replication"))
        check(wait_for(lambda: same_ordered(shm_dump(a, n1), shm_dump(a, n2)), 5),
              "after the re-join: same ordered position and digest on both",
              shm_dump(a, n1), shm_dump(a, n2))
        d1 = shm_dump(a, n1)
        check(shm_record(d1, KIND_FAN_MODE)["i"][0] == FAN_MODE_AUTO,
              "node1's mirror: fan mode auto", shm_record(d1, KIND_FAN_MODE))

        # A seamless takeover, judged by what the BMC received (the plugin's cmd_log): node2 sets
        # a 70 % floor on zone 0; kill -9 node2; node1, hot, sends no fail-safe duty (100 % on
        # either zone) and drives zone 0 at the inherited floor. Without replication (or cold) the
        # first command of a takeover is the fail-safe burst.
        p = n2.hsctl("fan", "duty", "0", "70")
        check(p.returncode == 0 and "the standby holds it" in p.stdout,
              "node2: `hsctl fan duty 0 70` answers once the standby holds it", p.stdout,
              p.stderr)
        floor70 = "66010046"  # Supermicro zone duty: zone 0 at 0x46 = 70 %
        check(wait_for(lambda: any(e["data"] == floor70 for e in bed.bmc.ctl_log(cmd_log)), 5),
              "the BMC received node2's 70 % on zone 0")
        check(wait_for(lambda: n1.hsctl_json("replication").get("readiness") == "hot", 10),
              "node1's mirror is hot before the kill", n1.hsctl_json("replication"))
        time.sleep(0.5)  # node1's own sensor readings are fresh (it polls as standby too)
        t_kill_ns = time.monotonic_ns()
        n2.kill9()
        log("kill -9 node2")
        bed.wait_role(1, "ACTIVE", timeout=10)
        check(wait_for(lambda: [e for e in bed.bmc.ctl_log(cmd_log)
                                if e["t_ns"] > t_kill_ns and e["data"] == floor70], 5),
              "the BMC received node1's 70 % on zone 0 (the inherited floor) after the kill",
              bed.bmc.ctl_log(cmd_log)[-10:])
        time.sleep(0.5)
        after = [e for e in bed.bmc.ctl_log(cmd_log) if e["t_ns"] > t_kill_ns]
        burst = [e for e in after if e["data"] in ("66010064", "66010164")]
        check(not burst, "no fail-safe duty (100 %) reached the BMC at the hot takeover",
              after, n1.tail(30))
        check(re.search(r"event=replication_takeover epoch=\d+ hot=true", n1.log_text()),
              "node1 took over hot", n1.tail(30))

        # `hsctl state` and `hsctl events` read each module's shared memory directly (no
        # socket): node2 back as the standby; a power change on the active is an event in the
        # replicated chassis event log, and both modules print the same event rows.
        n2.start()
        bed.wait_healthy(timeout=20)
        check(wait_for(lambda: n2.hsctl_json("replication").get("readiness") == "hot", 10),
              "restarted node2's mirror turns hot", n2.hsctl_json("replication"))
        p = n1.hsctl("chassis", "power", "off")
        check(p.returncode == 0, "node1: hsctl chassis power off", p.stdout, p.stderr)

        def events(node):
            p = node.hsctl("--shm", shm_name(node), "events", "--json")
            return json.loads(p.stdout)["events"] if p.returncode == 0 else None

        def power_off_seen(evs):  # value: the power state's code, 2 = off
            return any(e["type"] == "chassis_power_changed" and e["value"] == 2.0
                       for e in (evs or []))

        check(wait_for(lambda: power_off_seen(events(n1)), 10),
              "node1's `hsctl events`: the chassis power change to off", events(n1))
        check(wait_for(lambda: events(n1) == events(n2), 5),
              "both modules' `hsctl events` print the same rows (number, epoch, seq, ...)",
              events(n1), events(n2))
        ev = events(n2)
        check(ev and all(e["epoch"] > 0 and e["seq"] > 0 for e in ev),
              "every event row carries its (epoch, sequence)", ev)
        txt = n2.hsctl("--shm", shm_name(n2), "events")
        log("node2's `hsctl events`:\n" + txt.stdout)
        check(txt.returncode == 0 and "chassis_power_changed" in txt.stdout,
              "`hsctl events` prints the rows as a table", txt.stdout, txt.stderr)
        st = n2.hsctl("--shm", shm_name(n2), "state", "--json")
        sj = json.loads(st.stdout) if st.returncode == 0 else {}
        d2 = shm_dump(a, n2)
        check(sj.get("role") == "standby" and d2 and 0 < sj.get("seq_ordered", 0) <= d2["seq"][0],
              "node2's `hsctl state --json`: role standby, the ordered position of the region",
              sj.get("role"), sj.get("seq_ordered"), d2 and d2["seq"])
        kinds = {r["kind"] for r in sj.get("records", [])}
        check({"fan_mode", "fan_floor", "journal", "chassis_event", "power"} <= kinds,
              "node2's `hsctl state`: intent, journal, event log and telemetry records", kinds)
        txt = n2.hsctl("--shm", shm_name(n2), "state")
        check(txt.returncode == 0 and "fan_floor" in txt.stdout and "Readiness" in txt.stdout,
              "`hsctl state` prints the header and the records", txt.stdout[:400], txt.stderr)
        # A missing region and a region of another layout version: exit 2 and why.
        p = n2.hsctl("--shm", "/hs-no-such-region-%d" % os.getpid(), "state")
        check(p.returncode == 2 and "No such file" in p.stderr,
              "`hsctl state` without the region: exit 2, named", p.returncode, p.stderr)
        fake = "/dev/shm/hs-bad-version-%d" % os.getpid()
        with open(fake, "wb") as f:
            f.write(struct.pack("<IIIIII", 0x4D535348, 99, 128, 176, 0, 0) + bytes(104))
        try:
            p = n2.hsctl("--shm", "/" + os.path.basename(fake), "state")
        finally:
            os.unlink(fake)
        check(p.returncode == 2 and "layout version" in p.stderr,
              "`hsctl state` on another layout version: exit 2, named", p.returncode, p.stderr)


KIND_FAN_FLOOR, KIND_POWER_REQUEST = 2, 3
OUTCOME_PENDING, OUTCOME_CONFIRMED = 0, 1
POWER_ON = 1  # PowerControl::On (repl PowerRequestRecord.transition)


def floor_of(d, zone):
    r = shm_record(d, KIND_FAN_FLOOR, zone)
    return r["i"][0] if r else None


def settled_equal(a, n1, n2, holds=lambda d: True, timeout=10):
    """Both modules' shared memory at the same ordered position with the same digest, and each
    copy satisfying HOLDS (the shared memory is published every 200 ms at most: a condition on
    the newest write keeps two equally old copies from passing): (dump1, dump2) or None."""
    def pred():
        d1, d2 = shm_dump(a, n1), shm_dump(a, n2)
        return (d1, d2) if same_ordered(d1, d2) and holds(d1) and holds(d2) else None
    return wait_for(pred, timeout)


def sc_replication_faults(a):
    """The replication faults of issue 9 on real daemons, judged by the shared memory each daemon
    publishes (read by hs_shm_dump, not by asking the daemon) and by what the BMC received:
    an intent change while the network path is cut travels over serial; SIGSTOP of the active
    for two detection times and SIGCONT leaves no divergent records; a partition with
    conflicting changes on both sides heals to the higher epoch's store and the loser reports
    what it dropped (log, hsReplicationRecordsDropped); a power request in flight at a kill -9
    is confirmed by the new active, never re-issued; a standby restarted with an empty state
    directory gets a full snapshot and turns hot."""
    if not a.shm_dump:
        log("skip: no --shm-dump tool")
        sys.exit(77)
    with bed_for(a, "replfaults", plugin_options="fan_sensor0=4 fan_sensor1=5 power=0 "
                 "power_on_delay_ms=2500") as bed:
        cmd_log = os.path.join(bed.bmc.dir, "ctl.log")
        bed.bmc.plugin_options += " cmd_log=%s" % cmd_log
        bed.start()
        bed.wait_healthy()
        n1, n2 = bed.nodes[1], bed.nodes[2]
        bed.wait_driving(1)
        detection_s = bed.interval_ms * bed.miss / 1000.0

        # 1. The network path cut: an acknowledged intent change still reaches the standby, over
        # the serial line alone.
        bed.cut_udp()
        check(wait_for(lambda: n1.path_state("net0") == "down" and n2.path_state("net0") == "down"
                       and n2.path_state("serial0") == "up", 10),
              "net0 down on both (nftables drops the UDP path), serial0 up", n1.status(),
              n2.status())
        p = n1.hsctl("fan", "duty", "1", "55")
        check(p.returncode == 0 and "the standby holds it" in p.stdout,
              "node1: `hsctl fan duty 1 55` with net0 cut answers once the standby holds it",
              p.stdout, p.stderr)
        check(n1.path_state("net0") == "down" and bed.udp_drops(),
              "net0 was still cut when the answer came (%s datagrams dropped)" % bed.udp_drops())
        # (the shared memory is published every 200 ms at most)
        check(wait_for(lambda: floor_of(shm_dump(a, n2), 1) == 55, 5),
              "node2's shared memory holds the 55 % floor on zone 1 (it came over serial)",
              shm_record(shm_dump(a, n2), KIND_FAN_FLOOR, 1))
        bed.heal_udp()
        bed.wait_healthy()

        # 2. SIGSTOP of the active for two detection times, then SIGCONT: node2 replaces it;
        # whatever node1 still believes when it wakes, the stores end equal (no divergence).
        n1.sigstop()
        time.sleep(2 * detection_s)
        bed.wait_role(2, "ACTIVE", timeout=10)
        n1.sigcont()
        bed.wait_healthy(timeout=20)
        check(n2.role() == "ACTIVE" and n1.role() == "STANDBY",
              "after SIGCONT: node2 active, node1 standby", n1.role(), n2.role())
        check(settled_equal(a, n1, n2),
              "after SIGSTOP/SIGCONT of the active: same ordered position and digest on both",
              shm_dump(a, n1), shm_dump(a, n2))
        check(not re.search(r"event=replication_divergence", n1.log_text() + n2.log_text()),
              "no divergence seen by either mirror")

        # 3. A partition: both paths cut, node1 takes over with a higher epoch while node2 stays
        # active; conflicting floors on zone 0 on both sides; heal: node1's store wins and node2
        # reports (log and journald priority warning) the record it wrote and drops it.
        bed.cut_udp()
        bed.serial.stop()
        bed.wait_role(1, "ACTIVE", timeout=10)
        check(n2.role() == "ACTIVE", "partitioned: both active", n1.role(), n2.role())
        p2 = n2.hsctl("fan", "duty", "0", "40")
        p1 = n1.hsctl("fan", "duty", "0", "60")
        check(p1.returncode == 0 and p2.returncode == 0,
              "partitioned: both set a floor on zone 0", p1.stdout, p1.stderr, p2.stdout, p2.stderr)
        bed.heal_udp()
        bed.serial.cont()
        bed.wait_healthy(timeout=20)
        check(n1.role() == "ACTIVE" and n2.role() == "STANDBY",
              "healed: node1 (the higher epoch) stays active", n1.role(), n2.role())
        m = wait_for(lambda: re.search(r"event=replication_conflict records=(\d+)",
                                       n2.log_text()), 10)
        check(m and int(m.group(1)) >= 1,
              "node2 reports the records it wrote while partitioned and dropped",
              n2.tail(30))
        check(re.search(r"event=replication_conflict_record kind=fanFloor index=0 ",
                        n2.log_text(), re.I),
              "node2 names the dropped record (fan floor, zone 0)", n2.tail(30))
        dropped = int(m.group(1))
        check(bed.wait_traps(lambda ts: any(
            is_trap("hsReplicationRecordsDropped", hsReplLastDropCount=str(dropped))(t)
            for t in ts), node=2, timeout=10),
              "snmptrapd: hsReplicationRecordsDropped from node2 naming %d record(s)" % dropped,
              [(t["trap"], S.trap_value(t, "hsReplLastDropCount")) for t in bed.traps(node=2)])
        pair = settled_equal(a, n1, n2, holds=lambda d: floor_of(d, 0) == 60)
        check(pair,
              "after the heal both stores are equal and hold node1's 60 % on zone 0",
              [(d and d["seq"], shm_record(d, KIND_FAN_FLOOR, 0)) for d in (shm_dump(a, n1),
                                                                            shm_dump(a, n2))])

        # 4. A power request in flight at the kill: the BMC accepts node1's power on at once,
        # but the chassis reads on only 2.5 s later (plugin power_on_delay_ms, as a real host's
        # supplies settle). node2 holds the pending request; kill -9 node1: node2 confirms the
        # request by its own polls (deadline 5 s) and never sends a chassis control for it.
        check(bed.bmc.power() == "off", "ipmitool: chassis power off (plugin power=0)")
        ctl_before = [e for e in bed.bmc.ctl_log(cmd_log) if e["kind"] == "chassis_control"]
        p = n1.hsctl("chassis", "power", "on")
        check(p.returncode == 0, "node1: `hsctl chassis power on` accepted", p.stdout, p.stderr)
        req = wait_for(lambda: (lambda r: r if r and r["i"][1] == POWER_ON
                                and r["i"][4] == OUTCOME_PENDING else None)(
            shm_record(shm_dump(a, n2), KIND_POWER_REQUEST)), 2)
        check(req, "node2's shared memory holds node1's pending power-on request",
              shm_record(shm_dump(a, n2), KIND_POWER_REQUEST))
        check(bed.bmc.power() == "off", "ipmitool: the chassis is not on yet (the request is in "
              "flight)")
        n1.kill9()
        log("kill -9 node1 with power-on request %d pending" % req["i"][0])
        bed.wait_role(2, "ACTIVE", timeout=10)
        done = wait_for(lambda: (lambda r: r if r and r["i"][0] == req["i"][0]
                                 and r["i"][4] != OUTCOME_PENDING else None)(
            shm_record(shm_dump(a, n2), KIND_POWER_REQUEST)), 10)
        check(done and done["i"][4] == OUTCOME_CONFIRMED,
              "node2 confirmed node1's request %d (same id, outcome Confirmed)" % req["i"][0],
              shm_record(shm_dump(a, n2), KIND_POWER_REQUEST), n2.tail(30))
        check(bed.bmc.power() == "on", "ipmitool: the chassis is on")
        ctl_after = [e for e in bed.bmc.ctl_log(cmd_log) if e["kind"] == "chassis_control"]
        check(len(ctl_after) - len(ctl_before) == 1,
              "the BMC received exactly the one chassis control node1 sent: node2 never "
              "re-issued it", ctl_after[len(ctl_before):])

        # 5. The old active restarts with an EMPTY state directory (module replaced): a full
        # snapshot makes its mirror hot, equal to node2's store.
        sent_before = n2.hsctl_json("replication").get("counters", {}).get("snapshots_sent", 0)
        shutil.rmtree(n1.state_dir)
        os.makedirs(n1.state_dir, mode=0o700)
        n1.start()
        bed.wait_healthy(timeout=30)
        r2 = n2.hsctl_json("replication")
        check(r2.get("counters", {}).get("snapshots_sent", 0) > sent_before,
              "node2 sent a full snapshot to the emptied node1", sent_before, r2)
        check(bed.wait_traps(lambda ts: any(
            is_trap("hsReplicationHotChange", hsReplReadiness="hot")(t) for t in ts),
            node=1, timeout=10),
              "snmptrapd: hsReplicationHotChange (hot) from the emptied node1's agent",
              [(t["trap"], S.trap_value(t, "hsReplReadiness")) for t in bed.traps(node=1)])
        pair = settled_equal(a, n1, n2,
                             holds=lambda d: floor_of(d, 0) == 60 and floor_of(d, 1) == 55)
        check(pair,
              "the emptied node1's mirror holds the floors again (60 % zone 0, 55 % zone 1)",
              pair and [shm_record(pair[0], KIND_FAN_FLOOR, z) for z in (0, 1)])


SCENARIOS = {
    "replication": sc_replication,
    "replication_faults": sc_replication_faults,
    "takeover": sc_takeover,
    "reconcile": sc_reconcile,
    "fans": sc_fans,
    "snmp_switchover": sc_snmp_switchover,
    "snmp_notifications": sc_snmp_notifications,
    "snmpd_sigstop": sc_snmpd_sigstop,
    "snmpd_kill": sc_snmpd_kill,
    "snmp_reload": sc_snmp_reload,
    "snmp_walk": sc_snmp_walk,
    "stale_command": sc_stale_command,
}

ARGS = None


def bed_for(a, test_id, plugin_options=None, realtime=None):
    bed = SystemBed(test_id, daemon=a.daemon, hsctl=a.hsctl, plugin=a.plugin,
                    source_dir=a.source_dir, ietf_dir=a.ietf_dir, keep=a.keep or None,
                    realtime=realtime)
    if plugin_options is not None:
        bed.bmc.plugin_options = plugin_options
    return bed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--hsctl", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--source-dir", default=os.path.join(HERE, "..", ".."))
    ap.add_argument("--ietf-dir")
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS) + ["all"])
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--shm-dump", help="the hs_shm_dump tool (replication scenario)")
    a = ap.parse_args()
    names = sorted(SCENARIOS) if a.scenario == "all" else [a.scenario]
    rc = 0
    for name in names:
        log("==== scenario %s ====" % name)
        t0 = time.time()
        try:
            SCENARIOS[name](a)
            log("==== %s: PASS (%.1f s) ====" % (name, time.time() - t0))
        except S.Skip as e:
            log("==== %s: SKIP: %s ====" % (name, e))
            if len(names) == 1:
                return S.SKIP
        except Failed as e:
            log("==== %s: FAIL: %s ====" % (name, e))
            rc = 1
        except Exception as e:
            traceback.print_exc()
            log("==== %s: ERROR %s: %s ====" % (name, type(e).__name__, e))
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
