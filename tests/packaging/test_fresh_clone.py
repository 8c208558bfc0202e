#!/usr/bin/env python3
"""A clone with nothing beside it (no ../shared/ietf-mibs): what needs the IETF MIB modules skips
with a message saying how to get them, and what does not still runs.

  1. The tests that read HOTSTANDBY-MIB by name exit 77 (a ctest skip) with the missing modules and
     the way to get them: the MIB lint, snmp_integration, snmp_sample_conf, an SNMP scenario of
     system_*. (Only where the system's MIB directories lack the modules too.)
  2. The test bed's SNMP side without them (make demo, the other system scenarios): an SnmpBed
     whose search path has HOTSTANDBY-MIB alone gives Net-SNMP's tools numeric OIDs and names
     them from the module file (snmpbed.MibNames). Against the real subagent (snmp_test_agent
     behind a real snmpd) its walk must equal, name for name and enumeration for enumeration,
     the walk of a bed that has the IETF modules (Net-SNMP's own names, the independent witness),
     where ../shared/ietf-mibs exists.

usage: test_fresh_clone.py --source-dir SRC --agent snmp_test_agent --daemon hotstandbyd
       --hsctl hsctl --plugin hsfix_bmc.so [--ietf-dir DIR]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "snmp"))
sys.path.insert(0, os.path.join(HERE, "..", "snmp"))
import snmpbed as S  # noqa: E402
from test_snmp_integration import Agent  # noqa: E402

FAILURES = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def skips_without_ietf(a, empty):
    """Each test that needs MIB names exits 77 and says how to get the modules."""
    py = sys.executable
    src = a.source_dir
    cases = {
        "snmp_mib_lint": [py, os.path.join(src, "tests/fixtures/snmp/snmpbed.py"), "lint",
                          "--mib-dir", os.path.join(src, "mibs"), "--ietf-dir", empty],
        "snmp_integration": [py, os.path.join(src, "tests/snmp/test_snmp_integration.py"),
                             "--agent", a.agent, "--mib-dir", os.path.join(src, "mibs"),
                             "--ietf-dir", empty],
        "snmp_sample_conf": [py, os.path.join(src, "tests/snmp/test_snmpd_conf.py"),
                             "--agent", a.agent, "--conf", os.path.join(src, "etc/snmpd.conf"),
                             "--mib-dir", os.path.join(src, "mibs"), "--ietf-dir", empty],
        "system_snmp_walk": [py, os.path.join(src, "tests/system/test_system.py"),
                             "--daemon", a.daemon, "--hsctl", a.hsctl, "--plugin", a.plugin,
                             "--source-dir", src, "--ietf-dir", empty, "--scenario", "snmp_walk"],
    }
    for name, argv in cases.items():
        p = run(argv)
        out = p.stdout + p.stderr
        check(p.returncode == 77 and "snmp-mibs-downloader" in out and "SNMPv2-SMI" in out,
              "%s without the IETF modules: skipped (77) naming them and how to get them "
              "(exit %d: %s)" % (name, p.returncode, out.strip().splitlines()[-1:] or ""))


def walk_with(dirs, agent_bin, work):
    bed = S.SnmpBed(work, dirs)
    agent = None
    try:
        bed.start()
        agent = Agent(agent_bin, bed.agentx_socket, os.path.join(work, "agent.log"))
        walk = None
        for _ in range(50):
            walk = bed.walk()
            if walk and "No Such" not in walk[0][2]:
                break
        return bed.names is not None, walk
    finally:
        if agent:
            agent.close()
        bed.close()


def numeric_bed(a, work):
    mibs = os.path.join(a.source_dir, "mibs")
    numeric, walk = walk_with([mibs], a.agent, os.path.join(work, "numeric"))
    check(numeric, "a bed with HOTSTANDBY-MIB alone runs the tools numerically")
    names = [n for n, _, _ in walk]
    check(len(walk) > 100 and all(n.startswith("HOTSTANDBY-MIB::hs") for n in names),
          "its walk of the subagent is %d varbinds, every one named from HOTSTANDBY-MIB" % len(walk))
    got = {n.split("::", 1)[1]: v for n, _, v in walk}
    check(got.get("hsLocalRole.0") == "active(3)" and got.get("hsPathType.2") == "serial(3)",
          "enumerations named: hsLocalRole.0 = %s, hsPathType.2 = %s"
          % (got.get("hsLocalRole.0"), got.get("hsPathType.2")))
    ietf = a.ietf_dir or os.path.join(a.source_dir, "..", "shared", "ietf-mibs")
    try:
        full = S.find_mib_dirs(mibs, ietf)
    except S.MibsMissing:
        print("note: the IETF modules are not here: no comparison with Net-SNMP's own names")
        return
    strict, ref = walk_with(full, a.agent, os.path.join(work, "full"))
    check(not strict, "a bed with the IETF modules lets Net-SNMP name everything")
    ref_names = [n for n, _, _ in ref]
    check(names == ref_names, "the same %d names as Net-SNMP with the IETF modules%s"
          % (len(ref_names), "" if names == ref_names else ": first difference %s" % next(
              ((x, y) for x, y in zip(names, ref_names) if x != y), (len(names), len(ref_names)))))
    enum = re.compile(r"^[a-zA-Z]+\(-?\d+\)$")
    diff = [(n, v, rv) for (n, t, v), (_, rt, rv) in zip(walk, ref)
            if t == rt == "INTEGER" and enum.match(rv) and v != rv]
    check(not diff, "every enumeration as Net-SNMP names it (%d differ: %s)" % (len(diff), diff[:3]))


def main():
    ap = argparse.ArgumentParser()
    for k in ("source-dir", "agent", "daemon", "hsctl", "plugin"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--ietf-dir")
    a = ap.parse_args()
    a.source_dir = os.path.abspath(a.source_dir)
    for tool in ("snmpd", "snmptrapd", "snmpwalk"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            return 77
    work = tempfile.mkdtemp(prefix="hs-fresh-")
    try:
        empty = os.path.join(work, "no-ietf-mibs")
        os.mkdir(empty)
        if S.missing_modules([d for d in S.SYSTEM_MIB_DIRS if os.path.isdir(d)],
                             S.IETF_MODULES):
            skips_without_ietf(a, empty)
        else:
            print("note: this system's MIB directories hold the IETF modules: nothing to skip")
        numeric_bed(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print("\n%d check(s) failed:\n  %s" % (len(FAILURES), "\n  ".join(FAILURES)))
        return 1
    print("fresh-clone checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
