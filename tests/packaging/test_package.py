#!/usr/bin/env python3
"""The Debian package, built as `make package` builds it, installs a product that runs:

  1. cpack builds hotstandby_VERSION_ARCH.deb from the build tree;
  2. lintian reports no error (its warnings are printed);
  3. the package's version is the one the installed hotstandbyd and hsctl print;
     the package holds the daemon, hsctl, the MIB, the unit, the udev rule, the sample
     configuration as a conffile, the docs, the man pages and the bash completion, with Debian's
     modes, and maintainer scripts that create the system user `hotstandby` and its directories;
  4. unpacked into a root, the INSTALLED daemon runs as an unprivileged user (uid 65534, no
     groups, no capabilities), two of them as a pair over loopback UDP and a socat serial line,
     each from the INSTALLED sample configuration with only what the test bed needs changed
     (ids, addresses, device, directories, a 50 ms interval, SNMP off). The INSTALLED hsctl, as
     that user too, sees one active and one standby with both paths up and hands the role over;
     /proc shows the daemons' credentials and the state files on disk belong to the user.

usage: test_package.py --build-dir BUILD [--keep]     (exit 77: not root or a tool missing)
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                "bed"))
import common  # noqa: E402
from common import Child, SerialPair, Skip, free_udp_ports, wait_for, write_key  # noqa: E402

log = common.make_log("pkg")
UID = GID = 65534  # nobody / nogroup: a user with no rights of its own
FAILURES = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=kw.pop("timeout", 300),
                          **kw)


def as_user(argv):
    """ARGV run as UID/GID with no supplementary groups (and killed if the test dies)."""
    return ["setpriv", "--reuid=%d" % UID, "--regid=%d" % GID, "--clear-groups",
            "--inh-caps=-all", "--pdeathsig=TERM", "--"] + argv


# ---- 1. build ------------------------------------------------------------------------------
def build_package(build_dir, work):
    out = os.path.join(work, "cpack")
    p = run(["cpack", "-G", "DEB", "--config", os.path.join(build_dir, "CPackConfig.cmake"),
             "-B", out], cwd=build_dir, timeout=900)
    debs = glob.glob(os.path.join(out, "*.deb"))
    if p.returncode != 0 or len(debs) != 1:
        print(p.stdout[-3000:], p.stderr[-3000:])
        raise RuntimeError("cpack failed (%d)" % p.returncode)
    log("built %s" % os.path.basename(debs[0]))
    return debs[0]


# ---- 2. lintian ----------------------------------------------------------------------------
def check_lintian(deb):
    if not shutil.which("lintian"):
        print("note: lintian not installed (apt-get install lintian): lintian check skipped")
        return
    p = run(["lintian", "--no-tag-display-limit", "--display-info", deb], timeout=600)
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if re.match(r"^[EWIPX]: ", ln)]
    for ln in lines:
        print("    lintian: " + ln)
    errors = [ln for ln in lines if ln.startswith("E: ")]
    check(not errors, "lintian reports no error (%d error(s), %d warning(s))"
          % (len(errors), sum(ln.startswith("W: ") for ln in lines)))
    for tag in ("hardening-no-bindnow", "hardening-no-relro", "copyright-without-copyright-notice",
                "copyright-should-refer-to-common-license-file-for-gpl"):
        check(not [ln for ln in lines if (" %s" % tag) in ln], "lintian: no %s" % tag)


# ---- 3. contents ---------------------------------------------------------------------------
EXPECTED = {
    "./usr/sbin/hotstandbyd": "-rwxr-xr-x",
    "./usr/bin/hsctl": "-rwxr-xr-x",
    "./usr/share/snmp/mibs/HOTSTANDBY-MIB": "-rw-r--r--",
    "./lib/systemd/system/hotstandbyd.service": "-rw-r--r--",
    "./lib/udev/rules.d/60-hotstandby-ipmi.rules": "-rw-r--r--",
    "./etc/hotstandby/hotstandbyd.toml": "-rw-r--r--",
    "./usr/share/bash-completion/completions/hsctl": "-rw-r--r--",
    "./usr/share/man/man8/hotstandbyd.8.gz": "-rw-r--r--",
    "./usr/share/man/man8/hsctl.8.gz": "-rw-r--r--",
    "./usr/share/man/man5/hotstandbyd.toml.5.gz": "-rw-r--r--",
    "./usr/share/doc/hotstandby/copyright": "-rw-r--r--",
    "./usr/share/doc/hotstandby/changelog.Debian.gz": "-rw-r--r--",
    "./usr/share/doc/hotstandby/install.md": "-rw-r--r--",
    "./usr/share/doc/hotstandby/configuration.md": "-rw-r--r--",
    "./usr/share/doc/hotstandby/examples/snmpd.conf": "-rw-r--r--",
}


def check_contents(deb, work):
    listing = {}
    for ln in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        f = ln.split()
        listing[f[5]] = (f[0], f[1])
    for path, mode in EXPECTED.items():
        got = listing.get(path)
        check(got is not None and got[0] == mode and got[1] == "root/root",
              "package holds %s %s root/root (%s)" % (path, mode, got))
    ctl = os.path.join(work, "control")
    run(["dpkg-deb", "-e", deb, ctl])
    conffiles = open(os.path.join(ctl, "conffiles")).read().split()
    check(conffiles == ["/etc/hotstandby/hotstandbyd.toml"], "the sample configuration is the "
          "conffile (%s)" % conffiles)
    fields = run(["dpkg-deb", "-f", deb]).stdout
    depends = re.search(r"^Depends: (.*)$", fields, re.M)
    check(depends and "libc6" in depends.group(1) and "adduser" in depends.group(1),
          "Depends names the shared libraries and adduser (%s)"
          % (depends.group(1) if depends else None))
    postinst = open(os.path.join(ctl, "postinst")).read()
    check(re.search(r"adduser .*--system .*hotstandby", postinst.replace("\\\n", " ")) is not None,
          "postinst creates the system user hotstandby")
    for d in ("/var/lib/hotstandby", "/var/cache/hotstandby"):
        check(d in postinst, "postinst creates %s" % d)
    check("chmod 0700" in postinst, "postinst makes them private (0700)")
    for s in ("postinst", "prerm", "postrm"):
        p = run(["sh", "-n", os.path.join(ctl, s)])
        check(p.returncode == 0 and oct(os.stat(os.path.join(ctl, s)).st_mode & 0o777) == "0o755",
              "%s is a valid shell script, mode 0755" % s)


def check_license(root):
    """The copyright file names the license (DEP-5, SPDX) and Debian's copy of its text."""
    text = open(os.path.join(root, "usr/share/doc/hotstandby/copyright")).read()
    check(re.search(r"^License: GPL-3\+$", text, re.M) is not None and
          "SPDX-License-Identifier: GPL-3.0-or-later" in text and
          "/usr/share/common-licenses/GPL-3" in text,
          "copyright: GPL-3+ (SPDX GPL-3.0-or-later), pointing at common-licenses/GPL-3")


def check_versions(deb, root):
    """The package's version is the one the installed programs print."""
    version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
    upstream = version.rsplit("-", 1)[0]
    d = run([os.path.join(root, "usr/sbin/hotstandbyd"), "--version"]).stdout.strip()
    h = run([os.path.join(root, "usr/bin/hsctl"), "--version"]).stdout.strip()
    check(d == "hotstandbyd " + upstream and h == "hsctl " + upstream,
          "package %s: installed %r and %r agree" % (version, d, h))


# ---- 4. the installed daemon, unprivileged -------------------------------------------------
def adapt(sample, n, ports, tty, ndir):
    """The installed sample configuration with what the test bed needs, each change checked."""
    other = 3 - n
    subs = [
        (r"^id = 1$", "id = %d" % n),
        (r"^slot = 0$", "slot = %d" % (n - 1)),
        (r"^state_dir = .*$", 'state_dir = "%s/state"' % ndir),
        (r"^key_file = .*$", 'key_file = "%s/hb.key"' % ndir),
        (r"^control_socket = .*$", 'control_socket = "%s/ctl.sock"' % ndir),
        (r"^interval_ms = 10$", "interval_ms = 50"),
        (r'^local = ".*"$', 'local = "127.0.0.1:%d"' % ports[n]),
        (r'^peer = ".*"$', 'peer = "127.0.0.1:%d"' % ports[other]),
        (r'^device = ".*"$', 'device = "%s"' % tty),
    ]
    text = sample
    for pattern, repl in subs:
        text, count = re.subn(pattern, repl, text, flags=re.M)
        if count != 1:
            raise RuntimeError("the sample configuration has %d lines matching %r: adapt the test"
                               % (count, pattern))
    return text + "\n[snmp]\nenabled = false\n"


def status(hsctl, sock):
    p = run(as_user([hsctl, "-s", sock, "status", "--json"]), timeout=10)
    return json.loads(p.stdout) if p.returncode == 0 else None


def proc_field(pid, name):
    for ln in open("/proc/%d/status" % pid):
        if ln.startswith(name + ":"):
            return ln.split(":", 1)[1].split()
    return None


def run_pair(root, work):
    daemon = os.path.join(root, "usr/sbin/hotstandbyd")
    hsctl = os.path.join(root, "usr/bin/hsctl")
    sample = open(os.path.join(root, "etc/hotstandby/hotstandbyd.toml")).read()
    p = run([daemon, "--version"])
    check(p.returncode == 0 and p.stdout.startswith("hotstandbyd "), "installed daemon runs: %s"
          % p.stdout.strip())
    os.chmod(work, 0o755)
    serial = SerialPair(work)
    serial.start()
    ports = dict(zip((1, 2), free_udp_ports(2)))
    key = write_key(os.path.join(work, "hb.key"))
    nodes = {}
    try:
        for n in (1, 2):
            # The tty behind the socat link: the user's, as dialout would give it on a real host.
            os.chown(os.path.realpath(serial.tty[n]), UID, GID)
            ndir = os.path.join(work, "node%d" % n)
            os.mkdir(ndir, 0o700)
            shutil.copy(key, os.path.join(ndir, "hb.key"))
            for f in (ndir, os.path.join(ndir, "hb.key")):
                os.chown(f, UID, GID)
            conf = os.path.join(ndir, "hotstandbyd.toml")
            with open(conf, "w") as f:
                f.write(adapt(sample, n, ports, serial.tty[n], ndir))
            p = run(as_user([daemon, "-c", conf, "--check"]))
            check(p.returncode == 0 and not os.path.exists(os.path.join(ndir, "state")),
                  "node%d: --check as uid %d passes and creates nothing: %s"
                  % (n, UID, (p.stdout + p.stderr).strip()))
            nodes[n] = {"dir": ndir, "sock": os.path.join(ndir, "ctl.sock"),
                        "child": Child("node%d" % n, as_user([daemon, "-c", conf]),
                                       log_path=os.path.join(work, "node%d.log" % n))}
            log("node%d: %s" % (n, " ".join(as_user([daemon, "-c", conf]))))

        def pair_up():
            sts = {n: status(hsctl, nodes[n]["sock"]) for n in nodes}
            if not all(sts.values()):
                return None
            roles = sorted(sts[n]["role"] for n in nodes)
            paths_up = all(p.get("state") == "up" for n in nodes for p in sts[n]["paths"])
            return sts if roles == ["active", "standby"] and paths_up else None

        sts = wait_for(pair_up, 30, interval=0.2, what="one active, one standby, both paths up")
        check(bool(sts), "installed daemons form a pair: %s" % (
            {n: (s["role"], [(p["name"], p["state"]) for p in s["paths"]]) for n, s in sts.items()}
            if sts else None))
        for n, node in nodes.items():
            pid = node["child"].pid
            uids, gids = proc_field(pid, "Uid"), proc_field(pid, "Gid")
            groups, cap_eff = proc_field(pid, "Groups"), proc_field(pid, "CapEff")
            check(uids == [str(UID)] * 4 and gids == [str(GID)] * 4 and groups == []
                  and cap_eff == ["0000000000000000"],
                  "node%d runs as uid/gid %d, no groups, no capabilities (/proc: Uid %s Gid %s "
                  "Groups %s CapEff %s)" % (n, UID, uids, gids, groups, cap_eff))
            sock = os.stat(node["sock"])
            check(sock.st_uid == UID and oct(sock.st_mode & 0o777) == "0o660",
                  "node%d: control socket owned by the user, 0660" % n)
            for f in ("epoch", "incarnation"):
                st = os.stat(os.path.join(node["dir"], "state", f))
                check(st.st_uid == UID and oct(st.st_mode & 0o777) == "0o600",
                      "node%d: state file %s written by the user, 0600" % (n, f))
        active = next(n for n in nodes if sts and sts[n]["role"] == "active")
        standby = 3 - active
        epoch_before = sts[active]["epoch"]
        p = run(as_user([hsctl, "-s", nodes[active]["sock"], "switchover"]), timeout=20)
        check(p.returncode == 0, "installed hsctl (uid %d): switchover: %s"
              % (UID, (p.stdout + p.stderr).strip()))

        def swapped():
            a, b = status(hsctl, nodes[standby]["sock"]), status(hsctl, nodes[active]["sock"])
            return a and b and a["role"] == "active" and b["role"] == "standby"

        check(bool(wait_for(swapped, 20, interval=0.2, what="switchover")),
              "node%d took over, node%d is standby" % (standby, active))
        # The file holds a reservation (the next epoch the node could take over with), written
        # before it is needed: it may already hold the new epoch or the one after it, never less.
        epoch_after = status(hsctl, nodes[standby]["sock"])["epoch"]
        on_disk = int(open(os.path.join(nodes[standby]["dir"], "state", "epoch")).read())
        check(epoch_after > epoch_before and on_disk >= epoch_after,
              "the new active's epoch %d > %d, and durable before it acted (on disk %d)"
              % (epoch_after, epoch_before, on_disk))
        for n, node in nodes.items():
            rc = node["child"].stop()
            check(rc == 0, "node%d stops cleanly on SIGTERM (exit %s)" % (n, rc))
    finally:
        for node in nodes.values():
            if node["child"].alive():
                node["child"].stop()
                print(node["child"].log_text()[-3000:])
        serial.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    try:
        if not common.is_root():
            raise Skip("needs root (chown to the test user)")
        common.need_tools("cpack", "dpkg-deb", "setpriv", "socat")
        common.install_handlers()
    except Skip as e:
        print("SKIP: %s" % e)
        return common.SKIP
    work = tempfile.mkdtemp(prefix="hs-pkg-")
    try:
        deb = build_package(os.path.abspath(a.build_dir), work)
        check_lintian(deb)
        check_contents(deb, work)
        root = os.path.join(work, "root")
        run(["dpkg-deb", "-x", deb, root])
        for page in glob.glob(os.path.join(root, "usr/share/man/man*/*.gz")):
            p = run(["man", "-l", page], env=dict(os.environ, MANWIDTH="80"))
            check(p.returncode == 0 and "NAME" in p.stdout, "installed %s renders"
                  % os.path.basename(page))
        p = run(["bash", "-c", "source /usr/share/bash-completion/bash_completion 2>/dev/null; "
                 "source %s && complete -p hsctl"
                 % os.path.join(root, "usr/share/bash-completion/completions/hsctl")])
        check("_hsctl" in p.stdout, "the bash completion loads: %s" % p.stdout.strip())
        check_versions(deb, root)
        check_license(root)
        run_pair(root, work)
    except Exception as e:  # noqa: BLE001
        check(False, "%s: %s" % (type(e).__name__, e))
    finally:
        if a.keep or FAILURES:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print("\n%d check(s) failed:\n  %s" % (len(FAILURES), "\n  ".join(FAILURES)))
        return 1
    print("package checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
