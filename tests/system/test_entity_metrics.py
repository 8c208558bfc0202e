#!/usr/bin/env python3
"""System tests of the standard views (issue 12) on the system bed
(tests/fixtures/system/sysbed.py):
two real hotstandbyd, one ipmi_sim, one snmpd per module, one snmptrapd.

    test_entity_metrics.py --daemon D --hsctl H --plugin hsfix_bmc.so --source-dir SRC \
        --ietf-dir ../shared/ietf-mibs --scenario entity_views|metrics

entity_views: snmpwalk of entPhysicalTable, entPhySensorTable and entStateTable with the IETF
  modules loaded: every object resolves by name; the sensor values equal hsctl's and ipmitool's;
  containment is a tree rooted at the chassis; entStateStandby follows a kill -9 (and snmptrapd
  gets entStateOperDisabled for the lost module) and a switchover.
metrics: a scrape of /metrics passes `promtool check metrics` with no finding; its values equal
  hsctl's and ipmitool's; hotstandby_switchovers_total{reason="manual"} counts a switchover;
  an oversized request gets 431, a POST 405, another path 404; more slow clients than
  max_connections hold their connections for the request timeout while the heartbeats, roles
  and switchover count stay as they were, then the endpoint answers again.
Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

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


ENTITY_MODULES = ["ENTITY-MIB", "ENTITY-SENSOR-MIB", "ENTITY-STATE-MIB"]
TABLES = ["ENTITY-MIB::entPhysicalTable", "ENTITY-MIB::entPhysicalContainsTable",
          "ENTITY-MIB::entLastChangeTime", "ENTITY-SENSOR-MIB::entPhySensorTable",
          "ENTITY-STATE-MIB::entStateTable"]
VB = re.compile(r"^(\S+) = (?:([A-Za-z0-9 -]+): )?(.*)$")
SENSOR_BASE = 1000


def bed_for(a, test_id, metrics_ports=None):
    bed = SystemBed(test_id, daemon=a.daemon, hsctl=a.hsctl, plugin=a.plugin,
                    source_dir=a.source_dir, ietf_dir=a.ietf_dir, keep=a.keep or None)
    if metrics_ports:
        for n, port in metrics_ports.items():
            node = bed.nodes[n]
            orig = node.write_config

            def write_config(orig=orig, node=node, port=port, **kw):
                orig(**kw)
                with open(node.conf, "a") as f:
                    f.write('\n[metrics]\nenabled = true\nlisten = "127.0.0.1"\nport = %d\n'
                            'max_connections = 2\nrequest_timeout_ms = 1500\n' % port)
            node.write_config = write_config
    return bed


def ietf_dir(a):
    d = a.ietf_dir or os.path.join(a.source_dir, "..", "shared", "ietf-mibs")
    if not all(os.path.exists(os.path.join(d, m + ".txt")) for m in ENTITY_MODULES):
        raise S.Skip("needs the IETF modules %s in %s (../shared/ietf-mibs)"
                     % (", ".join(ENTITY_MODULES), d))
    return d


def walk(bed, n, ietf):
    """snmpwalk of the ENTITY tables through node n's snmpd with the IETF modules loaded:
    {(object, index tuple): (type, value)} and the raw lines."""
    sb = bed.snmp[n]
    dirs = [ietf] + [d for d in sb.mib_dirs if d != ietf]
    out_all, res = [], {}
    for table in TABLES:
        argv = ["snmpwalk", "-v2c", "-c", "public", "-t", "5", "-r", "0", "-M", ":".join(dirs),
                "-m", ":".join(ENTITY_MODULES), "127.0.0.1:%d" % sb.port, table]
        rc, out, err = sb.run(argv)
        if rc != 0 or err.strip():
            raise Failed("snmpwalk %s via node%d: rc=%d %s" % (table, n, rc, err.strip()))
        for line in out.splitlines():
            out_all.append(line)
            m = VB.match(line)
            if not m:
                continue
            name = m.group(1)
            mod, _, rest = name.partition("::")
            obj, _, idx = rest.partition(".")
            res[(mod, obj, tuple(int(x) for x in idx.split(".") if x))] = (m.group(2) or "",
                                                                          m.group(3))
    return res, out_all


def num(v):
    """The number in an SNMP value as snmpwalk prints it: 'chassis(3)' -> 3, '(1234) 0:00:12.34'
    -> 1234, '42' -> 42."""
    m = re.search(r"\((-?\d+)\)", v) or re.match(r"\s*(-?\d+)", v)
    if not m:
        raise ValueError("no number in %r" % v)
    return int(m.group(1))


def text(v):
    return v[1:-1] if len(v) >= 2 and v[0] == '"' and v[-1] == '"' else v


def col(res, obj):
    return {k[2]: v for k, v in res.items() if k[1] == obj}


def hsctl_sensors(node):
    return {s["index"]: s for s in node.hsctl_json("sensor", "list")["sensors"]}


def ipmitool_reading(bed, name):
    rc, out = bed.bmc.ipmitool("sensor", "reading", name)
    m = re.search(r"\|\s*(-?[\d.]+)", out) if rc == 0 else None
    return float(m.group(1)) if m else None


def module_index(bed, n):
    return 2 + bed.nodes[n].slot


def wait_sensors(bed, n, timeout=20):
    return wait_for(lambda: (lambda s: s if s and all(x.get("value") is not None
                                                      for x in s.values()) else None)(
        hsctl_sensors(bed.nodes[n])), timeout, what="node%d sensors read" % n)


def standby_of(bed, n, ietf, m):
    res, _ = walk(bed, n, ietf)
    v = col(res, "entStateStandby").get((module_index(bed, m),))
    return num(v[1]) if v else None


# ---- entity views ------------------------------------------------------------------------------
def sc_entity_views(a):
    ietf = ietf_dir(a)
    with bed_for(a, "entity") as bed:
        bed.start()
        bed.wait_healthy()
        bed.wait_driving(1)
        sensors = wait_sensors(bed, 1)
        check(len(sensors) >= 5, "hsctl lists the BMC's sensors", sorted(sensors))
        # The subagent republishes within a publish period: wait for the sensor rows.
        wait_for(lambda: len(col(walk(bed, 1, ietf)[0], "entPhySensorValue")) == len(sensors),
                 10, what="entPhySensorTable has a row per sensor")
        for n in (1, 2):
            t = time.monotonic()
            res, lines = walk(bed, n, ietf)
            log("node%d: walk of the ENTITY tables, %d varbinds through AgentX: %.0f ms "
                "(not asserted)" % (n, len(lines), (time.monotonic() - t) * 1e3))
            unresolved = [ln for ln in lines if not re.match(
                r"^(ENTITY-MIB|ENTITY-SENSOR-MIB|ENTITY-STATE-MIB)::[a-zA-Z]+\.[\d.]+ = ", ln)]
            check(lines and not unresolved,
                  "node%d: every object of the three tables resolves by name (%d varbinds)"
                  % (n, len(lines)), *unresolved[:5])
            # Containment: a tree rooted at the chassis.
            cls = {k[0]: num(v[1]) for k, v in col(res, "entPhysicalClass").items()}
            parent = {k[0]: num(v[1]) for k, v in col(res, "entPhysicalContainedIn").items()}
            roots = [i for i, p in parent.items() if p == 0]
            check(roots == [1] and cls.get(1) == 3, "node%d: one root, index 1, class chassis"
                  % n, roots, cls.get(1))
            bad = []
            for i in parent:
                seen, at = set(), i
                while at != 1:
                    if at in seen or at not in parent:
                        bad.append(i)
                        break
                    seen.add(at)
                    at = parent[at]
            check(not bad, "node%d: every entity's containment chain ends at the chassis" % n,
                  bad)
            contains = {k for k in col(res, "entPhysicalChildIndex")}
            check(contains == {(p, i) for i, p in parent.items() if p != 0},
                  "node%d: entPhysicalContainsTable mirrors entPhysicalContainedIn" % n)
            modules = sorted(i for i, c in cls.items() if c == 9)
            check(modules == [2, 3], "node%d: two modules (class module) at 2 and 3" % n, modules)
            check(all(parent[m] == 1 for m in modules), "node%d: the modules sit in the chassis"
                  % n)
            fans = [i for i, c in cls.items() if c == 7]
            check(len(fans) == 2 and all(parent.get(f - 1000) == f for f in fans),
                  "node%d: a fan entity per fan sensor, containing its sensor" % n, fans)
            # Sensors: every hsctl sensor, same name, unit and type; the value equal to hsctl's
            # and ipmitool's. Fans move while the active applies its curve, and the agent's
            # snapshot may be a publish period older than hsctl's: compare until all agree.
            last = {}

            def mismatches(n=n):
                res, _ = walk(bed, n, ietf)
                sensors = hsctl_sensors(bed.nodes[n])
                ipmi = {s["name"]: ipmitool_reading(bed, s["name"]) for s in sensors.values()}
                names = {k[0]: text(v[1]) for k, v in col(res, "entPhysicalName").items()}
                cls = {k[0]: num(v[1]) for k, v in col(res, "entPhysicalClass").items()}
                c = {o: col(res, "entPhySensor" + o) for o in (
                    "Value", "Precision", "Scale", "UnitsDisplay", "OperStatus", "Type",
                    "ValueTimeStamp")}
                bad, good = [], []
                for i, s in sorted(sensors.items()):
                    pi = (SENSOR_BASE + i,)
                    if any(pi not in c[o] for o in c):
                        bad.append("%s: no row %d" % (s["name"], pi[0]))
                        continue
                    p = num(c["Precision"][pi][1])
                    got = num(c["Value"][pi][1]) / 10 ** p
                    tol = 0.5 * 10 ** -p + 1e-9
                    want = {"degrees C": 8, "V": 4, "RPM": 10}.get(s["unit"])
                    line = ("%s: entity %d %r class %s, value %s/10^%d = %s, hsctl %s, "
                            "ipmitool %s, "
                            "scale %s, units %s, oper %s, type %s, stamp %s"
                            % (s["name"], pi[0], names.get(pi[0]), cls.get(pi[0]),
                               c["Value"][pi][1], p, got, s["value"], ipmi[s["name"]],
                               c["Scale"][pi][1], c["UnitsDisplay"][pi][1],
                               c["OperStatus"][pi][1], c["Type"][pi][1],
                               c["ValueTimeStamp"][pi][1]))
                    ok = (names.get(pi[0]) == s["name"] and cls.get(pi[0]) == 8 and
                          abs(got - s["value"]) < tol and ipmi[s["name"]] is not None and
                          abs(got - ipmi[s["name"]]) < tol and
                          num(c["Scale"][pi][1]) == 9 and
                          text(c["UnitsDisplay"][pi][1]) == s["unit"] and
                          num(c["OperStatus"][pi][1]) == 1 and
                          num(c["ValueTimeStamp"][pi][1]) > 0 and
                          (want is None or num(c["Type"][pi][1]) == want))
                    (good if ok else bad).append(line)
                last["bad"], last["good"] = bad, good
                return not bad and len(good) == len(sensors)
            deadline = time.monotonic() + 20
            while not mismatches() and time.monotonic() < deadline:
                time.sleep(0.3)
            check(not last["bad"], "node%d: every sensor's row agrees with hsctl and ipmitool "
                  "(name, class sensor, value/10^precision, scale units, units, oper ok, type, "
                  "timestamp)" % n, *(last["bad"] + last["good"]))
            for line in last["good"]:
                log("   %s" % line)
        # The sensor rows came after the start (first SDR read): a configuration change, told by
        # entLastChangeTime and one entConfigChange per agent (snmptrapd is the witness).
        for n in (1, 2):
            res, _ = walk(bed, n, ietf)
            lct = num(res[("ENTITY-MIB", "entLastChangeTime", (0,))][1])
            check(lct > 0, "node%d: entLastChangeTime %d > 0" % (n, lct))

            def config_change(n=n):
                return [ln for ln in open(bed.snmp.trap_log).read().splitlines()
                        if "community %s|" % S.COMMUNITY[n] in ln and
                        re.search(r"(\.1\.3\.6\.1\.2\.1|mib-2)\.47\.2\.0\.1\b", ln)]
            check(wait_for(config_change, 10),
                  "snmptrapd got entConfigChange from node%d's agent" % n)
        # entStateStandby: the active providingService(4), the standby hotStandby(2) (its
        # replicated mirror is hot: the bed's healthy() waits for that), the same through both
        # agents.
        for n in (1, 2):
            check(wait_for(lambda: standby_of(bed, n, ietf, 1) == 4 and
                           standby_of(bed, n, ietf, 2) == 2, 10),
                  "node%d's agent: node1 providingService, node2 hotStandby" % n)
        mark = len(open(bed.snmp.trap_log).read().splitlines())
        bed.nodes[1].kill9()
        log("kill -9 node1")
        bed.wait_role(2, "ACTIVE", timeout=10)
        check(wait_for(lambda: standby_of(bed, 2, ietf, 2) == 4 and
                       standby_of(bed, 2, ietf, 1) == 1, 10),
              "node2's agent after the kill: node2 providingService, node1 unknown")
        res, _ = walk(bed, 2, ietf)
        check(num(col(res, "entStateOper")[(module_index(bed, 1),)][1]) == 2,
              "node2's agent: node1's module oper disabled")
        idx = module_index(bed, 1)

        def disabled_trap():
            lines = open(bed.snmp.trap_log).read().splitlines()[mark:]
            # snmptrapd prints the OIDs numerically or as SNMPv2-SMI::mib-2.N (no ENTITY MIBs).
            want = re.compile(r"(\.1\.3\.6\.1\.2\.1|mib-2)\.131\.1\.1\.1\.2\.%d\b" % idx)
            return [ln for ln in lines if "community %s|" % S.COMMUNITY[2] in ln and
                    re.search(r"(\.1\.3\.6\.1\.2\.1|mib-2)\.131\.0\.2\b", ln) and want.search(ln)]
        check(wait_for(disabled_trap, 10),
              "snmptrapd got entStateOperDisabled for node1's module from node2's agent")
        bed.nodes[1].start()
        bed.wait_healthy(timeout=20)
        check(wait_for(lambda: standby_of(bed, 2, ietf, 1) == 2, 10),
              "node1 restarted as standby, its mirror hot: hotStandby on node2's agent")
        p = bed.nodes[2].hsctl("switchover")
        check(p.returncode == 0, "hsctl switchover on node2", p.stdout, p.stderr)
        bed.wait_role(1, "ACTIVE", timeout=10)
        for n in (1, 2):
            check(wait_for(lambda: standby_of(bed, n, ietf, 1) == 4 and
                           standby_of(bed, n, ietf, 2) == 2, 10),
                  "after the switchover, node%d's agent: node1 providingService, node2 "
                  "hotStandby" % n)


# ---- metrics -----------------------------------------------------------------------------------
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse_metrics(body):
    out = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Failed("unparsable sample line %r" % line)
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def scrape(port, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def raw_request(port, data, timeout=5):
    """Sends DATA on a new connection and returns the reply's status code (None if closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        m = re.match(rb"HTTP/1\.[01] (\d+)", buf)
        return int(m.group(1)) if m else None
    finally:
        s.close()


def free_tcp_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def sc_metrics(a):
    promtool = shutil.which("promtool")
    if not promtool:
        raise S.Skip("needs promtool (Debian package prometheus; scripts/install-deps.sh)")
    ports = dict(zip((1, 2), free_tcp_ports(2)))
    with bed_for(a, "metrics", metrics_ports=ports) as bed:
        bed.start()
        bed.wait_healthy()
        bed.wait_driving(1)
        sensors = wait_sensors(bed, 1)
        time.sleep(1.0)  # a publish period: the endpoint has the sensors too
        for n in (1, 2):
            status, ctype, body = scrape(ports[n])
            check(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
                  "node%d: GET /metrics 200, %s" % (n, ctype))
            p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=30)
            check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
                  "node%d: promtool check metrics is clean (%d lines)"
                  % (n, len(body.splitlines())),
                  p.stdout, p.stderr)
        durations = []
        for _ in range(20):
            t = time.monotonic()
            size = len(scrape(ports[1])[2])
            durations.append(time.monotonic() - t)
        durations.sort()
        log("20 scrapes of node1: median %.2f ms, max %.2f ms, %d bytes (not asserted)"
            % (durations[10] * 1e3, durations[-1] * 1e3, size))
        # Values against hsctl (read before and after: counters in between) and ipmitool.
        n1 = bed.nodes[1]
        before = n1.request({"cmd": "status"})["result"]
        time.sleep(1.0)
        metrics = parse_metrics(scrape(ports[1])[2])
        after = n1.request({"cmd": "status"})["result"]
        check(metrics.get(("hotstandby_role", (("role", before["role"]),))) == 1.0 and
              sum(v for (k, _), v in metrics.items() if k == "hotstandby_role") == 1.0,
              "hotstandby_role{role=\"%s\"} is the only 1" % before["role"])
        check(metrics.get(("hotstandby_epoch", ())) == before["epoch"] == after["epoch"],
              "hotstandby_epoch = hsctl's %s" % before["epoch"])
        for pb, pa in zip(before["paths"], after["paths"]):
            lab = (("path", pb["name"]),)
            check(metrics.get(("hotstandby_path_up", lab)) == (1.0 if pb["state"] == "up" else 0),
                  "hotstandby_path_up{path=%s} = hsctl's %s" % (pb["name"], pb["state"]))
            for d, key in (("sent", "tx"), ("received", "rx")):
                v = metrics.get(("hotstandby_path_frames_total",
                                 tuple(sorted(lab + (("direction", d),)))))
                check(v is not None and pb[key] <= v <= pa[key],
                      "hotstandby_path_frames_total{path=%s,direction=%s} %s between hsctl's %d "
                      "and %d" % (pb["name"], d, v, pb[key], pa[key]))
            v = metrics.get(("hotstandby_path_missed_total", lab))
            check(v is not None and pb["missed"] <= v <= pa["missed"],
                  "hotstandby_path_missed_total{path=%s} %s within hsctl's" % (pb["name"], v))
            rtt = metrics.get(("hotstandby_path_rtt_seconds", lab))
            check(rtt is not None and 0 <= rtt < 1, "hotstandby_path_rtt_seconds{path=%s} = %s"
                  % (pb["name"], rtt))
        sensors = hsctl_sensors(n1)
        fam = {"degrees C": "ipmi_temperature_celsius", "RPM": "ipmi_fan_speed_rpm",
               "V": "ipmi_voltage_volts"}
        for i, s in sorted(sensors.items()):
            lab = (("id", str(i)), ("name", s["name"]))
            v = metrics.get((fam[s["unit"]], lab))
            ipmi = ipmitool_reading(bed, s["name"])
            check(v is not None and abs(v - s["value"]) < 1e-6 and ipmi is not None and
                  abs(v - ipmi) < 0.01,
                  "%s{name=%r} %s = hsctl's %s = ipmitool's %s" % (fam[s["unit"]], s["name"], v,
                                                                   s["value"], ipmi))
            state = metrics.get((fam[s["unit"]].rsplit("_", 1)[0] + "_state", lab))
            want = {"nominal": 0, "warning": 1, "critical": 2}.get(s["state"])
            check(state is not None and want is not None and state == want,
                  "%s state %s = hsctl's %s" % (s["name"], state, s["state"]))
        power = bed.bmc.power()
        check(metrics.get(("ipmi_chassis_power_state", ())) == (1.0 if power == "on" else 0.0),
              "ipmi_chassis_power_state = ipmitool's %s" % power)
        # A switchover is counted by reason.
        key = ("hotstandby_switchovers_total", (("reason", "manual"),))
        m0 = parse_metrics(scrape(ports[2])[2]).get(key, 0)
        p = n1.hsctl("switchover")
        check(p.returncode == 0, "hsctl switchover", p.stdout, p.stderr)
        bed.wait_role(2, "ACTIVE", timeout=10)
        check(wait_for(lambda: parse_metrics(scrape(ports[2])[2]).get(key, 0) == m0 + 1, 5),
              "node2: hotstandby_switchovers_total{reason=\"manual\"} %s -> %s" % (m0, m0 + 1))
        # Hostile clients.
        big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100000 + b"\r\n\r\n"
        check(raw_request(ports[1], big) == 431, "a 100 kB request header gets 431")
        check(raw_request(ports[1], b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == 405,
              "POST /metrics gets 405")
        check(raw_request(ports[1], b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n") == 404,
              "GET /other gets 404")
        # Healthy again after the switchover (the new standby's mirror re-joined and is hot)
        # before the hostile clients' phase judges health.
        st0 = bed.wait_healthy(timeout=20)
        sw0 = {n: st0[n]["switchover_count"] for n in (1, 2)}
        slow = []
        for _ in range(4):  # more than max_connections (2)
            s = socket.create_connection(("127.0.0.1", ports[1]), timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
            slow.append(s)
        t0 = time.monotonic()
        # Watch each slow connection for the server closing it, while sampling the pair.
        closed_at = {}
        samples = 0
        refused_scrape = None
        while len(closed_at) < len(slow) and time.monotonic() - t0 < 6.0:
            for i, s in enumerate(slow):
                if i in closed_at:
                    continue
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        closed_at[i] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[i] = time.monotonic() - t0
            st = bed.statuses()
            check(bed.healthy(st) is not None and
                  all(st[n]["switchover_count"] == sw0[n] for n in (1, 2)),
                  "slow clients: the pair stays healthy, no switchover (sample %d)" % samples, st)
            samples += 1
            if refused_scrape is None and time.monotonic() - t0 > 0.3:
                try:
                    refused_scrape = scrape(ports[1], timeout=2)[0]
                except OSError as e:
                    refused_scrape = "refused (%s)" % type(e).__name__
            time.sleep(0.05)
        for s in slow:
            s.close()
        times = sorted(closed_at.values())
        log("slow connections closed after %s s; %d status samples meanwhile; a scrape meanwhile: "
            "%s" % (["%.2f" % t for t in times], samples, refused_scrape))
        check(len(times) == 4, "the server closed every slow connection", times)
        check(sum(t < 0.5 for t in times) == 2 and all(1.2 < t < 3.5 for t in times[2:]),
              "two slow connections held until the request timeout (1.5 s), the two beyond "
              "max_connections closed at once", times)
        check(refused_scrape != 200, "while max_connections are held, another client is refused",
              refused_scrape)
        bed.check_alive()
        status, _, body = scrape(ports[1])
        check(status == 200 and "hotstandby_role" in body, "the endpoint answers again")
        st = bed.statuses()
        check(all(st[n]["switchover_count"] == sw0[n] for n in (1, 2)),
              "no switchover through the hostile requests")


SCENARIOS = {"entity_views": sc_entity_views, "metrics": sc_metrics}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--hsctl", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--source-dir", default=os.path.join(HERE, "..", ".."))
    ap.add_argument("--ietf-dir")
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    log("==== scenario %s ====" % a.scenario)
    t0 = time.time()
    try:
        SCENARIOS[a.scenario](a)
        log("==== %s: PASS (%.1f s) ====" % (a.scenario, time.time() - t0))
        return 0
    except S.Skip as e:
        log("==== %s: SKIP: %s ====" % (a.scenario, e))
        return S.SKIP
    except Failed as e:
        log("==== %s: FAIL: %s ====" % (a.scenario, e))
        return 1
    except Exception as e:
        traceback.print_exc()
        log("==== %s: ERROR %s: %s ====" % (a.scenario, type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
