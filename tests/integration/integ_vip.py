#!/usr/bin/env python3
"""Integration scenarios of the floating management address ([[address]]): two real hotstandbyd
daemons in two network namespaces joined by a bridge in a third namespace, the NMS (192.0.2.3).
The floating address 192.0.2.100/24 lives on hsv0 of whichever node is ACTIVE. Witnesses are
independent of the daemons: `ip addr` in each node's namespace, ARP replies captured in the NMS
namespace (tests/fixtures/rig/arp_probe.py: who answers, by MAC), the NMS's neighbour table and
ping from the NMS.

    integ_vip.py --build-dir BUILD --scenario NAME      (exit 0 pass, 1 fail, 77 skip: not root)
    integ_vip.py --list

Scenarios:
  vip_start       the active holds the address, the standby does not; the NMS reaches it at the
                  active's MAC and only there; a copy left in the standby's namespace before the
                  start (a crash) is removed; one already on the active is no error (idempotent)
  vip_kill_active kill -9 of the active: the standby takes the address, its announcements move the
                  NMS's neighbour entry to its MAC without the NMS asking; the killed node, started
                  again as standby, removes the copy its crash left behind
  vip_switchover  hsctl switchover there and back while the NMS sends an ARP request every 2 ms:
                  no request is ever answered by both MACs, the answers move to the new active;
                  with snmpd/snmptrapd installed, each node's subagent (one snmpd each, on the
                  host's loopback, reached through its AgentX unix socket) shows the address row
                  held only where `ip addr` has it, and each node's snmptrapd logs
                  hsAddressReleased / hsAddressAcquired for every move
  vip_stop        SIGTERM of the active: its namespace no longer holds the address, the peer does
  vip6            an IPv6 floating address (2001:db8::100/64): held by the active only, the NMS
                  reaches it; after a switchover the new active's unsolicited neighbour
                  advertisements move the NMS's neighbour entry to its MAC without a request
  vip_errors      an [[address]] on a missing interface: the daemon runs on, the status shows the
                  error (counted); the interface created later, the address is added within the
                  retry time; the good address is held all along
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import integ as I  # noqa: E402
from integ import R  # noqa: E402

VIP = "192.0.2.100"
PROBE = os.path.join(HERE, "..", "fixtures", "rig", "arp_probe.py")
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__[len("sc_"):]] = fn
    return fn


def address_block(iface=R.VETH, address=VIP, prefix=24):
    return "\n".join(["[[address]]", 'address = "%s"' % address, "prefix = %d" % prefix,
                      'interface = "%s"' % iface, "announce_count = 3",
                      "announce_interval_ms = 100", ""])


def holds(rig, n, address=VIP):
    p = rig.nsexec(n, ["ip", "-4", "-o", "addr", "show"], check=False, quiet=True)
    return (" %s/" % address) in p.stdout


def addresses(node):
    return {a["address"]: a for a in node.hsctl_json("status").get("addresses", [])}


def neigh_mac(rig, address=VIP):
    p = rig.nsexec(3, ["ip", "neigh", "show", address, "dev", R.BRIDGE], check=False, quiet=True)
    parts = p.stdout.split()
    return parts[parts.index("lladdr") + 1] if "lladdr" in parts else None


# One ICMP echo from the NMS namespace (no ping binary needed): exit 0 on a reply within 1 s.
ECHO = r"""
import os, select, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
msg = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"hotstandby"
c = sum(struct.unpack("!%dH" % (len(msg) // 2), msg))
c = (c & 0xffff) + (c >> 16)
c = ~(c + (c >> 16)) & 0xffff
s.sendto(msg[:2] + struct.pack("!H", c) + msg[4:], (sys.argv[1], 0))
end = time.time() + 1.0
while time.time() < end:
    if not select.select([s], [], [], max(0, end - time.time()))[0]:
        break
    pkt, addr = s.recvfrom(1500)
    icmp = pkt[(pkt[0] & 15) * 4:]
    if addr[0] == sys.argv[1] and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
        sys.exit(0)
sys.exit(1)
"""


def ping(rig):
    p = rig.nsexec(3, [sys.executable, "-c", ECHO, VIP], check=False, quiet=True)
    return p.returncode == 0


VIP6 = "2001:db8::100"
NMS6 = "2001:db8::3"
ECHO6 = r"""
import os, select, socket, struct, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
ident = os.getpid() & 0xffff
s.sendto(struct.pack("!BBHHH", 128, 0, 0, ident, 1) + b"hotstandby", (sys.argv[1], 0))
end = time.time() + 1.0
while time.time() < end:
    if not select.select([s], [], [], max(0, end - time.time()))[0]:
        break
    pkt, addr = s.recvfrom(1500)
    if pkt[0] == 129 and struct.unpack("!H", pkt[4:6])[0] == ident:
        sys.exit(0)
sys.exit(1)
"""


def ping6(rig):
    p = rig.nsexec(3, [sys.executable, "-c", ECHO6, VIP6], check=False, quiet=True)
    return p.returncode == 0


def holds6(rig, n):
    p = rig.nsexec(n, ["ip", "-6", "-o", "addr", "show"], check=False, quiet=True)
    return (" %s/" % VIP6) in p.stdout


def neigh6_mac(rig):
    p = rig.nsexec(3, ["ip", "-6", "neigh", "show", VIP6, "dev", R.BRIDGE], check=False,
                   quiet=True)
    parts = p.stdout.split()
    return parts[parts.index("lladdr") + 1] if "lladdr" in parts else None


class Probe:
    def __init__(self, rig, seconds, period=0.002):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", rig.ns[3], sys.executable, PROBE, "--iface", R.BRIDGE,
             "--source", R.ADDR[3], "--target", VIP, "--period", str(period),
             "--seconds", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        rig.children.append(self.p)
        self.p.stderr.readline()  # "ready": bound, the first request goes out now
        time.sleep(0.1)

    def result(self, timeout=30):
        out, _ = self.p.communicate(timeout=timeout)
        return json.loads(out)


def both_answered(res):
    """Requests answered by two MACs: the replies between one request and the next."""
    reqs, reps = res["requests"], res["replies"]
    bad = []
    j = 0
    for i, t in enumerate(reqs):
        end = reqs[i + 1] if i + 1 < len(reqs) else float("inf")
        macs = set()
        while j < len(reps) and reps[j][0] < end:
            if reps[j][0] >= t:
                macs.add(reps[j][1])
            j += 1
        if len(macs) > 1:
            bad.append((t, sorted(macs)))
    return bad


def start_pair(ctx):
    ctx.step("start both daemons with the floating address %s/24 on %s" % (VIP, R.VETH))
    ctx.rig.start_nodes()
    st = ctx.rig.wait_healthy(timeout=I.INIT_DEAD_MS / 1000.0 + 15)
    ctx.expect(st[1]["role"] == "ACTIVE" and st[2]["role"] == "STANDBY",
               "slot 0 (node1) ACTIVE, slot 1 (node2) STANDBY")
    ok = R.wait_for(lambda: holds(ctx.rig, 1) and not holds(ctx.rig, 2), 3.0, interval=0.01)
    ctx.expect(ok, "ip addr: node1's namespace holds %s, node2's does not" % VIP)
    return st


def only_mac(ctx, res, mac, what):
    macs = sorted({m for _, m in res["replies"]})
    ctx.expect(macs == [mac], "%s: every ARP reply from %s (%s; %d requests, %d replies)" %
               (what, mac, macs, len(res["requests"]), len(res["replies"])))


@scenario
def sc_vip_start(ctx):
    rig = ctx.rig
    ctx.step("a stale copy in node2's namespace (a crash), one already on node1")
    rig.nsexec(2, ["ip", "addr", "add", VIP + "/24", "dev", R.VETH])
    rig.nsexec(1, ["ip", "addr", "add", VIP + "/24", "dev", R.VETH])
    start_pair(ctx)
    ctx.expect(not holds(rig, 2), "node2 removed the stale copy")
    ctx.expect(ctx.n2.first_log_time(r"event=address_removed address=%s/24 .*stale=yes" % VIP, 0)
               is not None, "node2 logged the stale copy's removal")
    a1, a2 = addresses(ctx.n1)[VIP], addresses(ctx.n2)[VIP]
    ctx.expect(a1["held"] is True and a1["last_error"] == "" and a1["errors"] == 0,
               "node1 status: held, no error (%s)" % a1)
    ctx.expect(a2["held"] is False and a2["last_error"] == "", "node2 status: not held (%s)" % a2)
    ctx.expect(a1["prefix"] == 24 and a1["interface"] == R.VETH, "prefix and interface shown")
    R.wait_for(lambda: addresses(ctx.n1)[VIP]["announced"] >= 3, 2.0, interval=0.05)
    ctx.expect(addresses(ctx.n1)[VIP]["announced"] == 3, "node1 sent announce_count (3) ARPs")
    ctx.expect(ping(rig), "the NMS pings %s" % VIP)
    ctx.expect(neigh_mac(rig) == R.MAC[1], "the NMS's neighbour entry is node1's MAC (%s)" %
               neigh_mac(rig))
    only_mac(ctx, Probe(rig, 0.5).result(), R.MAC[1], "steady")
    p = ctx.n1.hsctl("address")
    ctx.expect(p.returncode == 0 and VIP + "/24" in p.stdout and "yes" in p.stdout,
               "hsctl address shows %s/24 held: %r" % (VIP, p.stdout))

    ctx.step("another process removes the address on the active / adds it on the standby")
    announced = addresses(ctx.n1)[VIP]["announced"]
    t0 = time.time()
    rig.nsexec(1, ["ip", "addr", "del", VIP + "/24", "dev", R.VETH])
    ctx.expect(R.wait_for(lambda: holds(rig, 1), 2.0, interval=0.005),
               "node1 added %s again after `ip addr del`" % VIP)
    ctx.note("back on node1 %.0f ms after `ip addr del`" % ((time.time() - t0) * 1000))
    ctx.expect(ctx.n1.first_log_time(r"event=address_lost address=%s/24 " % VIP, 0) is not None,
               "node1 logged event=address_lost")
    ctx.expect(R.wait_for(lambda: addresses(ctx.n1)[VIP]["announced"] >= announced + 3, 2.0,
                          interval=0.05),
               "node1 announced it again (%d -> %d)" % (announced,
                                                      addresses(ctx.n1)[VIP]["announced"]))
    rig.nsexec(2, ["ip", "addr", "add", VIP + "/24", "dev", R.VETH])
    ctx.expect(R.wait_for(lambda: not holds(rig, 2), 2.0, interval=0.005),
               "node2 removed %s added by `ip addr add` while node1 holds it" % VIP)
    ctx.expect(ctx.n2.first_log_time(r"event=address_unexpected address=%s/24 " % VIP, 0)
               is not None, "node2 logged event=address_unexpected")
    ctx.expect(holds(rig, 1) and not holds(rig, 2), "only node1 holds %s" % VIP)
    ctx.expect(ctx.n1.role() == "ACTIVE" and ctx.n2.role() == "STANDBY", "no role change")


@scenario
def sc_vip_kill_active(ctx):
    rig = ctx.rig
    start_pair(ctx)
    ctx.expect(ping(rig) and neigh_mac(rig) == R.MAC[1], "the NMS knows %s at node1's MAC" % VIP)
    ctx.step("kill -9 node1: node2 takes over and announces; the NMS's entry moves by itself")
    t0 = time.time()
    ctx.n1.child.kill9()
    I.takeover_time(ctx, ctx.n2, t0)
    ok = R.wait_for(lambda: holds(rig, 2), 2.0, interval=0.005)
    ctx.expect(ok, "node2's namespace holds %s" % VIP)
    ok = R.wait_for(lambda: neigh_mac(rig) == R.MAC[2], 1.0, interval=0.005)
    ctx.note("the NMS's neighbour entry is node2's MAC %.0f ms after the kill" %
             ((time.time() - t0) * 1000))
    ctx.expect(ok, "the NMS's neighbour entry moved to node2's MAC without a request (%s)" %
               neigh_mac(rig))
    ctx.expect(ping(rig), "the NMS pings %s (now node2)" % VIP)
    ctx.expect(holds(rig, 1), "the killed node1 left its copy behind (the crash being tested)")
    ctx.step("start node1 again: it stands by and removes the copy its crash left")
    ctx.n1.start()
    ok = R.wait_for(lambda: ctx.rig.roles() == {1: "STANDBY", 2: "ACTIVE"}, 10, interval=0.01)
    ctx.expect(ok, "node1 STANDBY, node2 ACTIVE (%s)" % ctx.rig.roles())
    ok = R.wait_for(lambda: not holds(rig, 1), 2.0, interval=0.01)
    ctx.expect(ok, "node1's namespace no longer holds %s" % VIP)
    ctx.expect(holds(rig, 2), "node2 still holds it")


def switch(ctx, frm, to):
    rig = ctx.rig
    probe = Probe(rig, 1.5)
    p = rig.nodes[frm].hsctl("switchover")
    ctx.expect(p.returncode == 0, "hsctl switchover on node%d (rc=%d)" % (frm, p.returncode))
    ok = R.wait_for(lambda: rig.roles() == {frm: "STANDBY", to: "ACTIVE"}, 5, interval=0.005)
    ctx.expect(ok, "roles swapped (%s)" % rig.roles())
    res = probe.result()
    bad = both_answered(res)
    macs = [m for _, m in res["replies"]]
    ctx.note("switchover node%d->node%d: %d ARP requests, %d replies" %
             (frm, to, len(res["requests"]), len(macs)))
    ctx.expect(not bad, "no ARP request answered by both MACs (%s)" % bad[:3])
    runs = []
    for t, m in res["replies"]:
        if not runs or runs[-1][1] != m:
            runs.append([t, m, 0])
        runs[-1][2] += 1
    ctx.note("answers in order: %s" % ", ".join("%s x%d from %.0f ms" % (
        "node1" if m == R.MAC[1] else "node2" if m == R.MAC[2] else m, k,
        (t - res["requests"][0]) * 1000) for t, m, k in runs))
    ctx.expect(macs and macs[0] == R.MAC[frm] and macs[-1] == R.MAC[to],
               "the answers move from node%d's MAC to node%d's" % (frm, to))
    first_new = next(i for i, m in enumerate(macs) if m == R.MAC[to])
    ctx.expect(all(m == R.MAC[to] for m in macs[first_new:]),
               "once node%d answers, node%d never does again" % (to, frm))
    ctx.expect(holds(rig, to) and not holds(rig, frm), "ip addr: only node%d holds it" % to)
    t_req = res["requests"]
    gaps = [b - a for (a, _), (b, _) in zip(res["replies"], res["replies"][1:])]
    ctx.note("longest time without an ARP reply: %.1f ms (requests every %.1f ms)" %
             (max(gaps) * 1000 if gaps else -1,
              (t_req[-1] - t_req[0]) / max(1, len(t_req) - 1) * 1000))


# ---- SNMP: one snmpd + snmptrapd per node on the host's loopback; the daemons in their
# namespaces reach their snmpd through its AgentX unix socket (a path, not an address).
def snmp_beds():
    """{1: SnmpBed, 2: SnmpBed} started, or None when the Net-SNMP tools are missing."""
    if not all(shutil.which(t) for t in ("snmpd", "snmptrapd", "snmpwalk")):
        return None
    sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "snmp"))
    import snmpbed  # noqa: E402
    dirs = snmpbed.find_mib_dirs(os.path.join(SOURCE, "mibs"),
                                 os.path.join(SOURCE, "..", "shared", "ietf-mibs"),
                                 require_ietf=False)
    top = tempfile.mkdtemp(prefix="hsvip-snmp-")
    beds = {}
    try:
        for n in (1, 2):
            beds[n] = snmpbed.SnmpBed(os.path.join(top, "snmp%d" % n), dirs, informs=False)
            beds[n].start()
    except Exception:
        for b in beds.values():
            b.close()
        raise
    beds["dir"] = top
    return beds


def close_snmp(beds):
    if beds:
        for n in (1, 2):
            beds[n].close()
        shutil.rmtree(beds["dir"], ignore_errors=True)


def snmp_block(beds, n):
    return "\n".join(["[snmp]", 'agentx_socket = "%s"' % beds[n].agentx_socket,
                      "ping_interval_s = 1", ""])


def address_row(beds, n):
    """Node n's hsAddressTable row 1 through its snmpd: {column: value}."""
    return {name.split("::", 1)[-1].split(".")[0]: v.strip('"')
            for name, _, v in beds[n].walk("HOTSTANDBY-MIB::hsAddressTable")
            if name.endswith(".1")}


def check_rows(ctx, active):
    beds = ctx.snmp
    for n in (1, 2):
        want = "true(1)" if n == active else "false(2)"
        ok = R.wait_for(lambda: address_row(beds, n).get("hsAddressHeld") == want, 3.0,
                        interval=0.05)
        row = address_row(beds, n)
        ctx.expect(ok and row.get("hsAddressIp") == VIP and row.get("hsAddressInterface") == R.VETH
                   and row.get("hsAddressPrefixLength", "").startswith("24"),
                   "node%d's snmpd: hsAddressTable.1 %s/24 on %s, hsAddressHeld %s (%s)" %
                   (n, VIP, R.VETH, want, row))
        ctx.expect(holds(ctx.rig, n) == (n == active),
                   "ip addr in node%d's namespace agrees (%s)" % (n, holds(ctx.rig, n)))


def address_traps(beds, n, start):
    """[(trap, hsAddressIp.1)] node n's snmptrapd logged after its first START notifications."""
    out = []
    for t in beds[n].traps("v2c")[start:]:
        if t["trap"].startswith("hsAddress"):
            ip = next((v.strip('"') for name, _, v in t["varbinds"]
                       if name.endswith("hsAddressIp.1")), None)
            out.append((t["trap"], ip))
    return out


def expect_traps(ctx, marks, released, acquired):
    beds = ctx.snmp
    for n, trap in ((released, "hsAddressReleased"), (acquired, "hsAddressAcquired")):
        R.wait_for(lambda: address_traps(beds, n, marks[n]), 3.0, interval=0.05)
        got = address_traps(beds, n, marks[n])
        ctx.expect(got == [(trap, VIP)], "node%d's snmptrapd: %s for %s (%s)" % (n, trap, VIP, got))


@scenario
def sc_vip_switchover(ctx):
    start_pair(ctx)
    if ctx.snmp:
        ctx.step("SNMP: the address row is held on node1 only; node1 sent hsAddressAcquired")
        check_rows(ctx, 1)
        ok = R.wait_for(lambda: address_traps(ctx.snmp, 1, 0), 3.0, interval=0.05)
        ctx.expect(ok and address_traps(ctx.snmp, 1, 0) == [("hsAddressAcquired", VIP)],
                   "node1's snmptrapd: hsAddressAcquired at the start (%s)" %
                   address_traps(ctx.snmp, 1, 0))
        ctx.expect(address_traps(ctx.snmp, 2, 0) == [], "node2 sent no address notification")
    else:
        ctx.note("snmpd/snmptrapd not installed: the SNMP checks are left out")
    marks = {n: len(ctx.snmp[n].traps("v2c")) for n in (1, 2)} if ctx.snmp else None
    ctx.step("hsctl switchover node1 -> node2 under a 2 ms ARP probe from the NMS")
    switch(ctx, 1, 2)
    if ctx.snmp:
        expect_traps(ctx, marks, released=1, acquired=2)
        check_rows(ctx, 2)
        marks = {n: len(ctx.snmp[n].traps("v2c")) for n in (1, 2)}
    ctx.rig.wait_healthy(timeout=10)
    ctx.step("and back, node2 -> node1")
    switch(ctx, 2, 1)
    if ctx.snmp:
        expect_traps(ctx, marks, released=2, acquired=1)
        check_rows(ctx, 1)


@scenario
def sc_vip_stop(ctx):
    rig = ctx.rig
    start_pair(ctx)
    ctx.step("SIGTERM node1 (the active): it removes the address, node2 takes it")
    ctx.n1.terminate()
    ctx.expect(ctx.n1.exit_code() == 0, "node1 exited 0 (%s)" % ctx.n1.exit_code())
    ctx.expect(not holds(rig, 1), "ip addr in node1's namespace: %s gone" % VIP)
    ok = R.wait_for(lambda: holds(rig, 2), 2.0, interval=0.005)
    ctx.expect(ok, "node2's namespace holds %s" % VIP)
    ok = R.wait_for(lambda: neigh_mac(rig) in (R.MAC[2], None) and ping(rig), 2.0, interval=0.05)
    ctx.expect(ok and neigh_mac(rig) == R.MAC[2], "the NMS reaches %s at node2's MAC" % VIP)
    ctx.step("SIGTERM node2 as well: nobody holds it")
    ctx.n2.terminate()
    ctx.expect(not holds(rig, 2), "ip addr in node2's namespace: %s gone" % VIP)


@scenario
def sc_vip_errors(ctx):
    rig = ctx.rig
    start_pair(ctx)
    a = addresses(ctx.n1)
    bad = a.get("192.0.2.101")
    ctx.expect(bad is not None and bad["held"] is False and
               "no such interface hsx0" in bad["last_error"] and bad["errors"] >= 1,
               "node1 status: 192.0.2.101 not held, error named and counted (%s)" % bad)
    ctx.expect(a[VIP]["held"] is True, "the good address is held")
    ctx.expect(not rig.check_alive(), "both daemons run on")
    ctx.step("create hsx0 in node1's namespace: the retry adds the address")
    rig.nsexec(1, ["ip", "link", "add", "hsx0", "type", "veth", "peer", "name", "hsx1"])
    rig.nsexec(1, ["ip", "link", "set", "hsx0", "up"])
    ok = R.wait_for(lambda: holds(rig, 1, "192.0.2.101"), 3.0, interval=0.05)
    ctx.expect(ok, "ip addr: node1's namespace holds 192.0.2.101 on hsx0")
    b = addresses(ctx.n1)["192.0.2.101"]
    ctx.expect(b["held"] is True and b["last_error"] == "", "status: held, error cleared (%s)" % b)
    ctx.expect(not holds(rig, 2, "192.0.2.101"), "node2 (standby) does not hold it")


@scenario
def sc_vip6(ctx):
    rig = ctx.rig
    rig.nsexec(3, ["ip", "addr", "add", NMS6 + "/64", "dev", R.BRIDGE, "nodad"])
    start_pair(ctx)
    ok = R.wait_for(lambda: holds6(rig, 1) and not holds6(rig, 2), 3.0, interval=0.01)
    ctx.expect(ok, "ip -6 addr: node1's namespace holds %s, node2's does not" % VIP6)
    ok = R.wait_for(lambda: ping6(rig), 3.0, interval=0.1)
    ctx.expect(ok, "the NMS reaches %s (ICMPv6 echo)" % VIP6)
    ctx.expect(neigh6_mac(rig) == R.MAC[1], "the NMS's neighbour entry is node1's MAC (%s)" %
               neigh6_mac(rig))
    a = addresses(ctx.n1)[VIP6]
    ctx.expect(a["held"] and a["prefix"] == 64 and a["announced"] >= 1,
               "node1 status: held /64, announced (%s)" % a)
    ctx.step("hsctl switchover: node2's advertisements move the NMS's entry by themselves")
    p = ctx.n1.hsctl("switchover")
    ctx.expect(p.returncode == 0, "hsctl switchover (rc=%d)" % p.returncode)
    ok = R.wait_for(lambda: rig.roles() == {1: "STANDBY", 2: "ACTIVE"}, 5, interval=0.005)
    ctx.expect(ok, "roles swapped (%s)" % rig.roles())
    ok = R.wait_for(lambda: neigh6_mac(rig) == R.MAC[2], 1.0, interval=0.01)
    ctx.expect(ok, "the NMS's neighbour entry is node2's MAC without a request (%s)" %
               neigh6_mac(rig))
    ctx.expect(holds6(rig, 2) and not holds6(rig, 1), "ip -6 addr: only node2 holds it")
    ctx.expect(ping6(rig), "the NMS reaches %s (now node2)" % VIP6)


def extra_config(name, snmp=None):
    if snmp:
        return lambda node: address_block() + "\n" + snmp_block(snmp, node.n)
    if name == "vip6":
        return address_block() + "\n" + address_block(address=VIP6, prefix=64)
    if name == "vip_errors":
        return address_block() + "\n" + address_block(iface="hsx0", address="192.0.2.101")
    return address_block()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build-dir", default=R.default_build_dir())
    ap.add_argument("--scenario")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the rig's temp dir (logs)")
    a = ap.parse_args()
    if a.list:
        print("\n".join(SCENARIOS))
        return 0
    if a.scenario not in SCENARIOS:
        print("unknown scenario %r; known: %s" % (a.scenario, ", ".join(SCENARIOS)))
        return 2
    if not R.is_root():
        print("SKIP: integration tests need root (network namespaces, rtnetlink, packet sockets)")
        return 77
    print("== integ_vip %s (interval %d ms, N %d, K %d)" % (a.scenario, I.INTERVAL_MS, I.N, I.K),
          flush=True)
    rig = tl = snmp = None
    rc = 1
    try:
        if a.scenario == "vip_switchover":
            snmp = snmp_beds()
        rig = R.Rig(a.scenario, build_dir=a.build_dir, interval_ms=I.INTERVAL_MS, miss=I.N,
                    recovery=I.K, init_dead_ms=I.INIT_DEAD_MS, keep_dir=a.keep or None,
                    third_party=True, extra_config={0: extra_config(a.scenario, snmp)})
        tl = rig.timeline()
        ctx = I.Ctx(rig, tl)
        ctx.snmp = snmp
        SCENARIOS[a.scenario](ctx)
        rc = 0
        print("PASS %s%s" % (a.scenario, (" (%d soft warnings: %s)" % (len(ctx.soft),
                                                                       " | ".join(ctx.soft)))
                                        if ctx.soft else ""))
    except I.Failure as e:
        print("FAIL %s: %s" % (a.scenario, e))
    except Exception:
        traceback.print_exc()
        print("FAIL %s: exception" % a.scenario)
    finally:
        if tl:
            tl.stop()
        if rig:
            if rc != 0:
                print("---- timeline (ms from first event) ----")
                print(tl.format() if tl else "")
                rig.dump_logs(60)
            rig.close()
        close_snmp(snmp)
    return rc


if __name__ == "__main__":
    sys.exit(main())
