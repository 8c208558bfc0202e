#!/usr/bin/env python3
"""scripts/install-deps.sh never leaves its policy-rc.d behind (issue 10).

The script writes a policy-rc.d (exit 101) so that installing snmpd, openipmi, ... starts no
system daemon, and must remove it however apt-get ends. Run against stubs, never the real apt:
dpkg-query (every package missing), apt-get (fails, succeeds or hangs as told; records whether the
policy file was in place while it ran) and id (uid 0) come first on PATH, and HS_POLICY_RC_D
points the policy file into a temporary directory, so the machine's /usr/sbin/policy-rc.d is
never read or written.

Cases: apt-get update fails, apt-get install fails, both succeed, SIGINT / SIGTERM to the process
group (Ctrl-C) while apt-get runs: the file is gone afterwards, and was there (executable, exit
101) while apt-get ran. A policy-rc.d that existed before is left exactly as it was.

    test_install_deps.py --source-dir SRC
"""
import argparse
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

STUB_APT = r"""#!/bin/sh
# apt-get stub: records its call and whether the policy file is in place, then obeys $STUB_MODE.
p="$HS_POLICY_RC_D"
if [ -x "$p" ]; then sh "$p" 2>/dev/null; st=$?; else st=none; fi
echo "apt-get $1 policy=$st" >> "$STUB_LOG"
case "$STUB_MODE:$1" in
  fail-update:update) exit 100 ;;
  fail-install:install) exit 100 ;;
  hang:install) echo started > "$STUB_LOG.hang"; exec sleep 60 ;;
esac
exit 0
"""

STUB_DPKG_QUERY = "#!/bin/sh\n# dpkg-query stub: nothing is installed\nexit 1\n"
STUB_ID = "#!/bin/sh\n# id stub: root\necho 0\n"


def write_exec(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


class Case:
    def __init__(self, script, tmp, name):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        write_exec(os.path.join(self.bin, "apt-get"), STUB_APT)
        write_exec(os.path.join(self.bin, "dpkg-query"), STUB_DPKG_QUERY)
        write_exec(os.path.join(self.bin, "id"), STUB_ID)
        self.policy = os.path.join(self.dir, "sbin", "policy-rc.d")
        os.makedirs(os.path.dirname(self.policy))
        self.log = os.path.join(self.dir, "apt.log")
        self.script = script

    def env(self, mode):
        return dict(os.environ, PATH=self.bin + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                    HS_POLICY_RC_D=self.policy, STUB_LOG=self.log, STUB_MODE=mode)

    def run(self, mode):
        return subprocess.run(["bash", self.script], env=self.env(mode), capture_output=True,
                              text=True, timeout=60)

    def calls(self):
        try:
            with open(self.log) as f:
                return f.read().split("\n")[:-1]
        except FileNotFoundError:
            return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    script = os.path.join(os.path.abspath(a.source_dir), "scripts", "install-deps.sh")
    with open(script) as f:
        if "HS_POLICY_RC_D" not in f.read():
            # Without the override it would write the machine's /usr/sbin/policy-rc.d: not run.
            print("FAIL: %s does not honour HS_POLICY_RC_D; not run" % script)
            return 1
    failures = []

    def check(cond, what):
        print("%s: %s" % ("ok" if cond else "FAIL", what))
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory(prefix="hs-install-deps-") as tmp:
        # apt-get fails (update, then install), and succeeds.
        for mode, want_calls, want_ok in (
                ("fail-update", ["apt-get update policy=101"], False),
                ("fail-install", ["apt-get update policy=101", "apt-get install policy=101"],
                 False),
                ("ok", ["apt-get update policy=101", "apt-get install policy=101"], True)):
            c = Case(script, tmp, mode)
            p = c.run(mode)
            check((p.returncode == 0) == want_ok,
                  "%s: exit %d (%s)" % (mode, p.returncode, "0" if want_ok else "non-zero"))
            check(c.calls() == want_calls,
                  "%s: apt-get ran with the policy in place (exit 101): %s" % (mode, c.calls()))
            check(not os.path.lexists(c.policy),
                  "%s: no policy-rc.d left behind (%s)" % (mode, c.policy))

        # Ctrl-C or SIGTERM while apt-get runs: the signal reaches the whole process group.
        for sig in (signal.SIGINT, signal.SIGTERM):
            name = signal.Signals(sig).name
            c = Case(script, tmp, name.lower())
            p = subprocess.Popen(["bash", script], env=c.env("hang"), start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while not os.path.exists(c.log + ".hang") and time.monotonic() < deadline:
                time.sleep(0.02)
            check(os.path.exists(c.policy), "%s: policy-rc.d in place while apt-get runs" % name)
            os.killpg(p.pid, sig)
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                rc = p.wait()
            check(rc != 0, "%s: the script did not report success (exit %d)" % (name, rc))
            check(not os.path.lexists(c.policy), "%s: no policy-rc.d left behind" % name)

        # A policy-rc.d that was there before is the site's: used, and left as it was.
        for mode in ("fail-install", "ok"):
            c = Case(script, tmp, "preexisting-" + mode)
            text = "#!/bin/sh\n# the site's own\nexit 101\n"
            write_exec(c.policy, text)
            os.chmod(c.policy, 0o750)
            before = os.stat(c.policy)
            c.run(mode)
            ok = os.path.exists(c.policy)
            if ok:
                with open(c.policy) as f:
                    ok = f.read() == text
                after = os.stat(c.policy)
                ok = ok and stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
            check(ok, "preexisting-%s: the site's policy-rc.d is left unchanged" % mode)

    if failures:
        print("FAILED: %d check(s)" % len(failures))
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
