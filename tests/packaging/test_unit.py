#!/usr/bin/env python3
"""The shipped systemd unit (etc/hotstandbyd.service) runs the daemon with least privilege:

  - as User=hotstandby, Group=hotstandby, with no supplementary group but dialout (serial line);
    the IPMI device and the AgentX socket are reached through group hotstandby;
  - with no capabilities (empty bounding and ambient sets, NoNewPrivileges);
  - hardened: `systemd-analyze security --offline=yes` scores 2.0 or lower;
  - still Type=notify with the watchdog, and not restarted on exit status 65 or 78.

usage: test_unit.py UNIT      (exit 77 when systemd-analyze cannot score a unit offline)
"""

import re
import shutil
import subprocess
import sys

MAX_EXPOSURE = 2.0
FAILURES = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)


def settings(path):
    out = {}
    section = None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        key, _, value = line.partition("=")
        out.setdefault((section, key), []).append(value)
    return out


def main():
    unit = sys.argv[1]
    s = settings(unit)

    def one(key):
        v = s.get(("[Service]", key), [])
        return v[-1] if v else None

    check(one("User") == "hotstandby", "User=hotstandby")
    check(one("Group") == "hotstandby", "Group=hotstandby")
    groups = set(" ".join(s.get(("[Service]", "SupplementaryGroups"), [])).split())
    check(groups <= {"dialout"}, "supplementary groups only dialout (%s)" % sorted(groups))
    check(s.get(("[Service]", "CapabilityBoundingSet")) == [""], "CapabilityBoundingSet= (none)")
    check(s.get(("[Service]", "AmbientCapabilities"), [""]) == [""], "no ambient capabilities")
    check(one("NoNewPrivileges") == "yes", "NoNewPrivileges=yes")
    check(one("ExecStart") == "/usr/sbin/hotstandbyd -c /etc/hotstandby/hotstandbyd.toml",
          "ExecStart runs the installed daemon with the installed configuration")
    check(one("Type") == "notify" and one("WatchdogSec") == "5s",
          "Type=notify with WatchdogSec=5s")
    check(one("RestartPreventExitStatus") == "65 78", "RestartPreventExitStatus=65 78")
    for d in ("StateDirectory", "RuntimeDirectory", "CacheDirectory"):
        check(one(d) == "hotstandby", "%s=hotstandby" % d)
    check(one("LimitRTPRIO") and one("LimitMEMLOCK") == "infinity",
          "real-time mode through LimitRTPRIO and LimitMEMLOCK")

    if not shutil.which("systemd-analyze"):
        print("SKIP: systemd-analyze not found")
        return 77 if not FAILURES else 1
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", unit],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
    if not m:
        print(p.stdout[-2000:] + p.stderr[-2000:])
        if "offline" in p.stderr:
            print("SKIP: this systemd-analyze cannot score a unit offline")
            return 77 if not FAILURES else 1
        check(False, "systemd-analyze security printed an overall exposure level")
    else:
        score = float(m.group(1))
        print("systemd-analyze security --offline=yes: %.1f" % score)
        check(score <= MAX_EXPOSURE, "exposure %.1f <= %.1f" % (score, MAX_EXPOSURE))
    if FAILURES:
        print("\n%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
