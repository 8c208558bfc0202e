#!/usr/bin/env python3
"""bench/snmp: starts snmpd + snmptrapd on loopback (tests/fixtures/snmp), the synthetic daemon
(bench_snmp_agent: 2 paths, 40 sensors, 8 fans) and bench_snmp_client, and prints
    snmp get_median_us=... native_get_median_us=... ratio=...
    walk_ms=... walk_varbinds=... bulkwalk_ms=...
Usage: run_bench.py --build BUILD_DIR [--gets N] [--walks N]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures", "snmp"))
from snmpbed import SnmpBed, find_mib_dirs  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--gets", default="2000")
    ap.add_argument("--walks", default="20")
    a = ap.parse_args()
    dirs = find_mib_dirs(os.path.join(REPO, "mibs"), os.path.join(REPO, "..", "shared", "ietf-mibs"))
    work = tempfile.mkdtemp(prefix="hs-snmp-bench-")
    agent = None
    try:
        with SnmpBed(work, dirs) as bed:
            agent = subprocess.Popen([os.path.join(a.build, "bench", "snmp", "bench_snmp_agent"),
                                      "--socket", bed.agentx_socket, "--log", "warn"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            agent.stdout.readline()
            agent.stdin.write("wait_connects 1 5000\n")
            agent.stdin.flush()
            if not agent.stdout.readline().startswith("CONNECTED"):
                print("bench: the subagent did not connect", file=sys.stderr)
                return 1
            return subprocess.call([os.path.join(a.build, "bench", "snmp", "bench_snmp_client"),
                                    "127.0.0.1:%d" % bed.port, "public", a.gets, a.walks], env=bed.env)
    finally:
        if agent:
            agent.stdin.close()
            agent.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
