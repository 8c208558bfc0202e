#!/usr/bin/env python3
"""The access control of the sample etc/snmpd.conf, checked against a real snmpd.

Starts snmpd with the sample's VACM lines (view, com2sec, group, access, createUser; listening
address, AgentX socket and persistent directory are the test's own) and snmp_test_agent (the real
Subagent) behind it, then checks with Net-SNMP's clients:
  - `public` (v2c) reads the system group and HOTSTANDBY-MIB and nothing else (no snmpEngine,
    usmUser or interfaces objects), and cannot write;
  - the write user (hsadmin, authPriv) sets a HOTSTANDBY-MIB object, but cannot write sysContact,
    cannot create a USM user (snmpusm create) and cannot read usmUserTable;
  - the read-only v3 user (hsmonitor) reads HOTSTANDBY-MIB and cannot set it.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "snmp"))
sys.path.insert(0, HERE)
from snmpbed import SnmpBed, find_mib_dirs  # noqa: E402
from test_snmp_integration import Agent  # noqa: E402

FAILS = []
PASSES = [0]

ACCESS_DIRECTIVES = ("view", "com2sec", "group", "access", "createUser", "rocommunity",
                     "rwcommunity", "rouser", "rwuser")


def check(cond, what):
    if cond:
        PASSES[0] += 1
        print("ok: %s" % what, flush=True)
    else:
        FAILS.append(what)
        print("FAIL: %s" % what, flush=True)
    return cond


def access_lines(conf):
    """The sample's access-control lines, comments stripped."""
    out = []
    with open(conf) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line and line.split()[0] in ACCESS_DIRECTIVES:
                out.append(line)
    return out


def users(lines):
    """{user: (authpass, privpass)} from the createUser lines."""
    res = {}
    for line in lines:
        m = re.match(r'createUser\s+(\S+)\s+SHA\s+"([^"]+)"\s+AES\s+"([^"]+)"', line)
        if m:
            res[m.group(1)] = (m.group(2), m.group(3))
    return res


class Client:
    def __init__(self, bed, creds):
        self.bed = bed
        self.creds = creds

    def _auth(self, user):
        if user is None:
            return ["-v2c", "-c", "public"]
        a, x = self.creds[user]
        return ["-v3", "-l", "authPriv", "-u", user, "-a", "SHA", "-A", a, "-x", "AES", "-X", x]

    def run(self, tool, user, args):
        argv = [tool] + self._auth(user) + ["-m", "SNMPv2-MIB:HOTSTANDBY-MIB", "-M",
                                            ":".join(self.bed.mib_dirs), "-t", "2", "-r", "0",
                                            "127.0.0.1:%d" % self.bed.port] + args
        return self.bed.run(argv)

    def get(self, user, name):
        rc, out, err = self.run("snmpget", user, [name])
        return rc, (out + err).strip()

    def readable(self, user, name):
        rc, text = self.get(user, name)
        return rc == 0 and "No Such" not in text, text

    def set(self, user, name, t, v):
        rc, out, err = self.run("snmpset", user, [name, t, v])
        return rc == 0, (out + err).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", required=True)
    ap.add_argument("--conf", required=True, help="the sample snmpd.conf")
    ap.add_argument("--mib-dir", required=True)
    ap.add_argument("--ietf-dir")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    for tool in ("snmpd", "snmpget", "snmpset", "snmpusm"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            return 77
    try:
        dirs = find_mib_dirs(a.mib_dir, a.ietf_dir)
    except RuntimeError as e:
        print("SKIP: this test reads and writes HOTSTANDBY-MIB by name. %s" % e)
        return 77
    lines = access_lines(a.conf)
    creds = users(lines)
    if "hsadmin" not in creds or "hsmonitor" not in creds:
        print("FAIL: the sample has no createUser for hsadmin and hsmonitor")
        return 1
    work = tempfile.mkdtemp(prefix="hs-snmpconf-")
    bed = SnmpBed(work, dirs, informs=False)
    with open(bed.snmpd_conf, "w") as f:
        f.write("\n".join([
            "[snmp] persistentDir %s" % bed.env["SNMP_PERSISTENT_DIR"],
            "agentaddress udp:127.0.0.1:%d" % bed.port,
            "master agentx",
            "agentXSocket %s" % bed.agentx_socket,
            "agentXPerms 0660 0770",
            "agentXTimeout 1",
            "agentXRetries 1",
        ] + lines) + "\n")
    agent = None
    c = Client(bed, creds)
    try:
        bed.start_snmpd()
        agent = Agent(a.agent, bed.agentx_socket, os.path.join(work, "agent.log"))
        r = agent.cmd("wait_connects 1 5000")
        check(r.startswith("CONNECTED"), "subagent connected (%s)" % r)
        deadline = time.time() + 5
        while time.time() < deadline and not c.readable(None, "HOTSTANDBY-MIB::hsLocalRole.0")[0]:
            time.sleep(0.1)

        # public: system + HOTSTANDBY-MIB only, read only.
        for name in ("SNMPv2-MIB::sysDescr.0", "SNMPv2-MIB::sysUpTime.0",
                     "HOTSTANDBY-MIB::hsLocalRole.0", "HOTSTANDBY-MIB::hsPathName.1"):
            ok, text = c.readable(None, name)
            check(ok, "public reads %s (%s)" % (name, text))
        for name in (".1.3.6.1.6.3.10.2.1.1.0",   # snmpEngineID
                     ".1.3.6.1.6.3.15.1.2.1.0",   # usmUserSpinLock
                     ".1.3.6.1.2.1.2.1.0",        # ifNumber
                     ".1.3.6.1.6.3.16.1.5.1.0"):  # vacmViewSpinLock
            ok, text = c.readable(None, name)
            check(not ok, "public cannot read %s outside system+HOTSTANDBY-MIB (%s)" % (name, text))
        ok, text = c.set(None, "HOTSTANDBY-MIB::hsPreemptMode.0", "i", "1")
        check(not ok, "public cannot set hsPreemptMode (%s)" % text)

        # hsadmin: writes HOTSTANDBY-MIB, nothing else.
        ok, text = c.set("hsadmin", "HOTSTANDBY-MIB::hsPreemptMode.0", "i", "1")
        check(ok, "hsadmin sets hsPreemptMode.0 (%s)" % text)
        check(agent.wait_request("op=setPreemption"), "the SET reached the subagent's core")
        ok, text = c.set("hsadmin", "SNMPv2-MIB::sysContact.0", "s", "mallory")
        check(not ok, "hsadmin cannot set sysContact.0 (%s)" % text)
        rc, out, err = c.run("snmpusm", "hsadmin", ["create", "mallory", "hsadmin"])
        text = (out + err).strip()
        # snmpusm exits 0 even when the agent refuses: judge by what it printed.
        check(rc != 0 or "Error" in text or "noAccess" in text or "created" not in text,
              "hsadmin cannot create a USM user (snmpusm create: rc=%d %s)" % (rc, text))
        ok, text = c.readable("hsadmin", ".1.3.6.1.6.3.15.1.2.1.0")
        check(not ok, "hsadmin cannot read usmUserSpinLock (%s)" % text)
        ok, text = c.readable("hsadmin", "SNMPv2-MIB::sysDescr.0")
        check(ok, "hsadmin reads sysDescr.0 (%s)" % text)

        # hsmonitor: reads, never writes.
        ok, text = c.readable("hsmonitor", "HOTSTANDBY-MIB::hsLocalRole.0")
        check(ok, "hsmonitor reads hsLocalRole.0 (%s)" % text)
        ok, text = c.set("hsmonitor", "HOTSTANDBY-MIB::hsPreemptMode.0", "i", "2")
        check(not ok, "hsmonitor cannot set hsPreemptMode (%s)" % text)
    finally:
        if agent:
            agent.close()
        bed.close()
    print("snmpd.conf sample: %d checks passed, %d failed" % (PASSES[0], len(FAILS)))
    if FAILS or a.keep:
        print("work directory kept: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
