#!/usr/bin/env python3
"""HOTSTANDBY-MIB's enterprise number has one place to change (issue 10).

The MIB's enterprise arc is the documentation enterprise number (RFC 5612); a deployment changes it in ONE
place, the `::= { enterprises N }` of hotStandbyMIB. Checks: the MIB assigns an enterprise arc
exactly once; the DESCRIPTION of its MODULE-IDENTITY says the number is the documentation one
(RFC 5612) and that this is the place to change; no code (C/C++, Python, CMake; comments aside)
spells the number, so the code can only have it from the MIB (subagent/CMakeLists.txt ->
HS_MIB_ROOT_OID).

    test_enterprise_number.py --source-dir SRC
"""
import argparse
import os
import re
import subprocess
import sys

CODE = re.compile(r"(\.(c|h|cpp|hpp|py|cmake)|(^|/)CMakeLists\.txt)$")


def code_files(src):
    try:
        out = subprocess.run(["git", "-C", src, "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split("\n")
        files = [f for f in out if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(src):
            dirs[:] = [d for d in dirs if not d.startswith(".") and not d.startswith("build")]
            files += [os.path.relpath(os.path.join(root, n), src) for n in names]
    return sorted(f for f in files if CODE.search(f))


def strip_comments(path, text):
    if path.endswith((".py", ".cmake")) or path.endswith("CMakeLists.txt"):
        return re.sub(r"#[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    src = os.path.abspath(a.source_dir)
    failures = []

    def check(cond, what):
        print("%s: %s" % ("ok" if cond else "FAIL", what))
        if not cond:
            failures.append(what)

    with open(os.path.join(src, "mibs", "HOTSTANDBY-MIB.txt")) as f:
        mib = f.read()
    no_strings = re.sub(r'"[^"]*"', '""', mib)
    no_strings = re.sub(r"--[^\n]*", "", no_strings)
    arcs = re.findall(r"::=\s*\{\s*enterprises\s+(\d+)\s*\}", no_strings)
    check(len(arcs) == 1, "the MIB assigns an enterprise arc once: %s" % arcs)
    number = arcs[0] if arcs else None

    m = re.search(r"MODULE-IDENTITY.*?DESCRIPTION\s*\"([^\"]*)\"", mib, re.S)
    desc = " ".join(m.group(1).split()) if m else ""
    check(number is not None and "1.3.6.1.4.1.%s" % number in desc and "RFC 5612" in desc
          and "documentation" in desc and "one place" in desc,
          "the MODULE-IDENTITY's DESCRIPTION names 1.3.6.1.4.1.%s the documentation enterprise "
          "(RFC 5612) and the one place to change it" % number)

    if number:
        lit = re.compile(r"(?<!\d)%s(?!\d)" % re.escape(number))
        hits = []
        for rel in code_files(src):
            try:
                with open(os.path.join(src, rel), errors="replace") as f:
                    text = strip_comments(rel, f.read())
            except OSError:
                continue
            for i, line in enumerate(text.split("\n"), 1):
                if lit.search(line):
                    hits.append("%s:%d: %s" % (rel, i, line.strip()))
        check(not hits, "no code spells the enterprise number %s (it comes from the MIB): %s"
              % (number, hits[:10]))

    if failures:
        print("FAILED: %d check(s)" % len(failures))
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
