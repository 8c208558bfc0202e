#!/usr/bin/env python3
"""One version everywhere: `hotstandbyd --version`, `hsctl --version` and the Debian package's
version (CPackConfig.cmake, written from project(VERSION)) name the same version.

usage: test_version.py --daemon D --hsctl H --build-dir BUILD
"""

import argparse
import re
import subprocess
import sys


def version_of(argv, prog):
    p = subprocess.run(argv + ["--version"], capture_output=True, text=True, timeout=30)
    m = re.fullmatch(r"%s (\S+)\n" % prog, p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("FAIL %s --version: exit %d, %r" % (prog, p.returncode, p.stdout))
    return m.group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--hsctl", required=True)
    ap.add_argument("--build-dir", required=True)
    a = ap.parse_args()
    with open(a.build_dir + "/CPackConfig.cmake") as f:
        m = re.search(r'^set\(CPACK_PACKAGE_VERSION "([^"]+)"\)', f.read(), re.M)
    if not m:
        sys.exit("FAIL no CPACK_PACKAGE_VERSION in CPackConfig.cmake")
    pkg = m.group(1)
    daemon = version_of([a.daemon], "hotstandbyd")
    hsctl = version_of([a.hsctl], "hsctl")
    print("package %s, hotstandbyd %s, hsctl %s" % (pkg, daemon, hsctl))
    if not (pkg == daemon == hsctl):
        sys.exit("FAIL the versions differ")
    print("ok    one version: %s" % pkg)


if __name__ == "__main__":
    main()
