#!/usr/bin/env python3
"""The man pages render without warnings and say what the code does, so they cannot drift:

  - mandoc -T lint and man --warnings (groff) print nothing for each page;
  - hotstandbyd.toml(5) documents exactly the keys of the parsers' own lists (print_config_keys,
    from core/config.hpp, chassis/chassis_config.hpp, subagent/snmp_config.hpp), table by table,
    and the parser really reads every listed key (hotstandbyd --check on a file that gives the key
    a value of the wrong type answers about that key, never "unknown key");
  - hsctl(8) documents every command and option of `hsctl help`, the bash completion offers every
    command word, and both pages list exactly the exit codes of the programs' sources;
  - hotstandbyd(8) documents every option of `hotstandbyd --help`, every signal the daemon
    handles and the default paths of the code.

usage: test_man_pages.py --source-dir DIR --daemon BIN --hsctl BIN --keys BIN
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


# ---- roff -------------------------------------------------------------------------------------
def plain(roff):
    """A roff fragment as text: font escapes gone, \\- as -, \\(dq as "."""
    s = re.sub(r"\\f[BIRP]", "", roff)
    s = s.replace("\\-", "-").replace("\\(dq", '"').replace("\\(aq", "'").replace("\\(mu", "x")
    s = re.sub(r'^\.(B|I|BR|RB|IR|RI|BI|IB)\s+', "", s)
    return s.replace('"', "").strip()


def sections(path):
    """{SECTION: [lines]} and {SUBSECTION: [lines]} of a man page."""
    secs, subs = {}, {}
    sec = sub = None
    for line in open(path, encoding="utf-8").read().splitlines():
        if line.startswith(".SH "):
            sec, sub = plain(line[4:]), None
            secs[sec] = []
            continue
        if line.startswith(".SS "):
            sub = plain(line[4:])
            subs[sub] = []
            continue
        if sec:
            secs[sec].append(line)
        if sub:
            subs[sub].append(line)
    return secs, subs


def tagged(lines):
    """The tags of .TP/.TQ paragraphs (the line after the macro), as plain text."""
    out = []
    for i, line in enumerate(lines[:-1]):
        if line in (".TP", ".TQ"):
            out.append(plain(lines[i + 1]))
    return out


# ---- checks -------------------------------------------------------------------------------------
def lint(pages):
    if shutil.which("mandoc"):
        for p in pages:
            r = run(["mandoc", "-T", "lint", p])
            check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
                  "mandoc -T lint %s: %s" % (os.path.basename(p), (r.stdout + r.stderr).strip()))
    else:
        print("note: mandoc not installed (apt-get install mandoc): mandoc lint skipped")
    if shutil.which("man") and shutil.which("groff"):
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
        for p in pages:
            r = run(["man", "--warnings", "-E", "UTF-8", "-l", p], env=env)
            check(r.returncode == 0 and not r.stderr.strip() and len(r.stdout) > 500,
                  "man --warnings %s renders: %s" % (os.path.basename(p), r.stderr.strip()))
    else:
        print("note: man or groff missing: man --warnings skipped")


def config_keys(keys_bin):
    lists = {}
    for line in run([keys_bin]).stdout.splitlines():
        table, key = line.split()
        lists.setdefault(table, []).append(key)
    return lists


def check_toml_page(page, lists):
    _, subs = sections(page)
    doc = {name: set(tagged(lines)) for name, lines in subs.items()}
    want = {
        "[node]": set(lists["node"]),
        "[heartbeat]": set(lists["heartbeat"]),
        "[[path]]": set(lists["path"]),
        # [chassis] documents its own keys and the BMC keys; its sub-tables have sections.
        "[chassis]": (set(lists["chassis"]) | set(lists["chassis.bmc"])) - {"fencing", "zone"},
        "[[chassis.zone]]": set(lists["chassis.zone"]),
        "[chassis.fencing]": set(lists["chassis.fencing"]),
        "[snmp]": set(lists["snmp"]),
        "[hooks]": set(lists["hooks"]),
        "[[address]]": set(lists["address"]),
        "[metrics]": set(lists["metrics"]),
    }
    check({"fencing", "zone"} <= set(lists["chassis"]),
          "[chassis] lists its sub-tables fencing and zone")
    for table, keys in want.items():
        got = doc.get(table)
        check(got is not None, "hotstandbyd.toml(5) has a section %s" % table)
        if got is None:
            continue
        check(got == keys, "hotstandbyd.toml(5) %s documents exactly the parser's keys "
              "(undocumented: %s; not in the code: %s)"
              % (table, sorted(keys - got) or "-", sorted(got - keys) or "-"))
    # The fencing section names the BMC keys it shares with [chassis].
    text = plain(" ".join(subs.get("[chassis.fencing]", [])))
    missing = [k for k in lists["chassis.bmc"] if k not in text and k != "driver_device"]
    check(not missing, "[chassis.fencing] names the shared BMC keys (missing: %s)" % (missing or "-"))
    tables = {t.strip("[]").split(".")[0] for t in want}
    check(tables == set(lists["tables"]), "the man page's top-level tables are the parser's")


# A configuration that passes --check, table by table; a probe sets one key to a TOML datetime
# (a type no key takes) and must get an answer about that key, not "unknown key".
DATETIME = "1979-05-27T07:32:00Z"


def base_tables(work):
    return [
        ("node", "[node]", {"id": "1", "slot": "0", "cluster_id": '"probe"',
                            "state_dir": '"%s"' % os.path.join(work, "state"),
                            "key_file": '"%s"' % os.path.join(work, "hb.key"),
                            "control_socket": '"%s"' % os.path.join(work, "ctl.sock")}),
        ("heartbeat", "[heartbeat]", {"interval_ms": "10"}),
        ("path", "[[path]]", {"name": '"net0"', "type": '"udp"', "local": '"127.0.0.1:7401"',
                              "peer": '"127.0.0.1:7402"'}),
        ("path.serial", "[[path]]", {"name": '"serial0"', "type": '"serial"',
                                     "device": '"/dev/null"'}),
        ("chassis", "[chassis]", {}),
        ("chassis.zone", "[[chassis.zone]]", {"id": "0", "temp_sensors": '["t"]',
                                              "curve": "[[30, 20]]"}),
        ("chassis.fencing", "[chassis.fencing]", {}),
        ("snmp", "[snmp]", {"enabled": "false"}),
        ("hooks", "[hooks]", {}),
        ("address", "[[address]]", {"address": '"192.0.2.10"', "interface": '"eth0"'}),
        ("metrics", "[metrics]", {}),
    ]


def render(tables, probe_table=None, probe_key=None):
    out = []
    for name, header, keys in tables:
        keys = dict(keys)
        if name == probe_table:
            keys[probe_key] = DATETIME
        out.append(header)
        out += ["%s = %s" % kv for kv in keys.items()]
        out.append("")
    return "\n".join(out)


def probe_parser(daemon, lists):
    work = tempfile.mkdtemp(prefix="hs-man-probe-")
    try:
        os.makedirs(os.path.join(work, "state"), mode=0o700)
        fd = os.open(os.path.join(work, "hb.key"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (os.urandom(32).hex() + "\n").encode())
        os.close(fd)
        tables = base_tables(work)
        conf = os.path.join(work, "probe.toml")

        def answer(table=None, key=None):
            with open(conf, "w") as f:
                f.write(render(tables, table, key))
            r = run([daemon, "-c", conf, "--check"])
            lines = (r.stdout + r.stderr).strip().splitlines()
            return r.returncode, lines[-1] if lines else ""

        rc, out = answer()
        check(rc == 0, "the probe's base configuration passes --check: %s" % out)
        where = {"node": "node", "heartbeat": "heartbeat", "path": "path", "chassis": "chassis",
                 "chassis.bmc": "chassis", "chassis.zone": "chassis.zone",
                 "chassis.fencing": "chassis.fencing", "snmp": "snmp",
                 "hooks": "hooks", "address": "address", "metrics": "metrics"}
        for list_name, table in where.items():
            rc, out = answer(table, "no_such_key")
            check(rc == 78 and "unknown key" in out,
                  "[%s] rejects an unknown key: %s" % (table, out))
            for key in lists[list_name]:
                t = "path.serial" if (table == "path" and key in ("device", "baud")) else table
                rc, out = answer(t, key)
                check("unknown key" not in out,
                      "the parser reads %s.%s (listed): %s" % (table, key, out or "valid"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def usage_block(text, header):
    """The lines of TEXT after the line HEADER up to the next blank line."""
    lines = text.splitlines()
    if header not in lines:
        return []
    block = []
    for line in lines[lines.index(header) + 1:]:
        if not line.strip():
            break
        block.append(line)
    return block


def check_hsctl(page, hsctl, completion, source_dir):
    r = run([hsctl, "help"])
    check(r.returncode == 0, "hsctl help exits 0")
    commands = [re.split(r"\s{2,}", ln.strip())[0] for ln in usage_block(r.stdout, "Commands:")
                if ln.startswith("  ") and not ln.startswith("   ")]
    check(len(commands) >= 10, "hsctl help lists its commands (%d)" % len(commands))
    secs, _ = sections(page)
    documented = set(tagged(secs.get("COMMANDS", [])))
    for c in commands:
        check(c in documented, "hsctl(8) documents the command '%s'" % c)
    extra = documented - set(commands)
    check(not extra, "hsctl(8) documents no command hsctl lacks (%s)" % (sorted(extra) or "-"))
    # Options of the usage text, e.g. "-s, --socket SOCKET", "--json".
    options = set()
    for ln in usage_block(r.stdout, "Options:"):
        options |= set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", ln.split("  ")[1] if ln.startswith("  ") else ln))
    man_opts = " ".join(tagged(secs.get("OPTIONS", [])))
    for o in sorted(options):
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), man_opts) is not None,
              "hsctl(8) documents the option %s" % o)
    # The completion offers every literal word of every command.
    comp = open(completion, encoding="utf-8").read()
    comp_words = set(re.findall(r"[a-z][a-z-]*", " ".join(re.findall(r"-W '([^']*)'", comp))))
    words = {w for c in commands for w in re.split(r"[ |]", c) if re.fullmatch(r"[a-z]+", w)}
    check(words <= comp_words, "the bash completion offers every command word (missing: %s)"
          % (sorted(words - comp_words) or "-"))
    first = re.search(r"^\s*0\) COMPREPLY=\(\$\(compgen -W '([^']*)'", comp, re.M)
    firsts = {c.split()[0] for c in commands}
    check(first is not None and set(first.group(1).split()) == firsts,
          "the bash completion offers exactly the command words %s first (%s)"
          % (sorted(firsts), first.group(1) if first else None))
    for o in options:
        check(o in comp_words or o in comp, "the bash completion offers %s" % o)
    # Exit codes: constants of cli/hsctl.cpp (and 0).
    src = open(os.path.join(source_dir, "cli", "hsctl.cpp"), encoding="utf-8").read()
    codes = {"0"} | set(re.findall(r"constexpr int kExit\w+ = (\d+);", src))
    man_codes = set(tagged(secs.get("EXIT STATUS", [])))
    check(codes == man_codes, "hsctl(8) EXIT STATUS lists exactly %s (has %s)"
          % (sorted(codes), sorted(man_codes)))
    usage_codes = {ln.split()[0] for ln in usage_block(r.stdout, "Exit status:") if ln.strip()}
    check(codes == usage_codes, "hsctl help lists exactly the exit codes %s (has %s)"
          % (sorted(codes), sorted(usage_codes)))
    # --version: the CMake project version, one line, exit 0.
    cmake = open(os.path.join(source_dir, "CMakeLists.txt"), encoding="utf-8").read()
    version = re.search(r"project\(\w+ VERSION ([\d.]+)", cmake).group(1)
    v = run([hsctl, "--version"])
    check(v.returncode == 0 and v.stdout == "hsctl %s\n" % version,
          "hsctl --version prints 'hsctl %s' (got rc %d %r)" % (version, v.returncode, v.stdout))
    # Every command word has its own usage: `hsctl help WORD`, exit 0, not the whole text.
    for w in sorted(firsts):
        h = run([hsctl, "help", w])
        check(h.returncode == 0 and h.stdout.startswith("usage: hsctl " + w)
              and "Commands:" not in h.stdout,
              "hsctl help %s prints that command's usage (rc %d)" % (w, h.returncode))


def check_daemon(page, daemon, source_dir):
    secs, _ = sections(page)
    r = run([daemon, "--help"])
    check(r.returncode == 0, "hotstandbyd --help exits 0")
    options = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", r.stdout))
    man_opts = " ".join(tagged(secs.get("OPTIONS", [])))
    for o in sorted(options):
        check(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), man_opts) is not None,
              "hotstandbyd(8) documents the option %s" % o)
    main = open(os.path.join(source_dir, "daemon", "main.cpp"), encoding="utf-8").read()
    state = open(os.path.join(source_dir, "daemon", "state_files.hpp"), encoding="utf-8").read()
    codes = set(re.findall(r"return (\d+);", main))
    if "return hs::kExitCorruptState" in main:
        codes |= set(re.findall(r"kExitCorruptState = (\d+);", state))
    man_codes = set(tagged(secs.get("EXIT STATUS", [])))
    check(codes == man_codes, "hotstandbyd(8) EXIT STATUS lists exactly %s (has %s)"
          % (sorted(codes), sorted(man_codes)))
    daemon_cpp = open(os.path.join(source_dir, "daemon", "daemon.cpp"), encoding="utf-8").read()
    signals = set()
    for ln in (main + daemon_cpp).splitlines():
        if "signal_set" in ln or "std::signal(" in ln:
            signals |= set(re.findall(r"\bSIG[A-Z]+\b", ln))
    man_sigs = " ".join(tagged(secs.get("SIGNALS", [])))
    check(len(signals) >= 4, "signals found in the code: %s" % sorted(signals))
    for s in sorted(signals):
        check(re.search(r"\b%s\b" % s, man_sigs) is not None, "hotstandbyd(8) documents %s" % s)
    # The default paths of the code are the files of the page.
    files = " ".join(tagged(secs.get("FILES", [])))
    cfg = open(os.path.join(source_dir, "core", "config.hpp"), encoding="utf-8").read()
    proto = open(os.path.join(source_dir, "base", "control_protocol.hpp"), encoding="utf-8").read()
    defaults = re.findall(r'(?:stateDir|keyFile) = "([^"]+)"', cfg)
    defaults += re.findall(r'kDefaultSocket = "([^"]+)"', proto)
    check(len(defaults) == 3, "default paths found in the code: %s" % defaults)
    for d in defaults:
        check(d in files, "hotstandbyd(8) FILES names %s" % d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--hsctl", required=True)
    ap.add_argument("--keys", required=True)
    a = ap.parse_args()
    man = os.path.join(a.source_dir, "man")
    pages = [os.path.join(man, p) for p in ("hotstandbyd.8", "hsctl.8", "hotstandbyd.toml.5")]
    lint(pages)
    lists = config_keys(a.keys)
    check_toml_page(pages[2], lists)
    probe_parser(a.daemon, lists)
    check_hsctl(pages[1], a.hsctl, os.path.join(a.source_dir, "etc", "hsctl.bash-completion"),
                a.source_dir)
    check_daemon(pages[0], a.daemon, a.source_dir)
    if FAILURES:
        print("\n%d check(s) failed:\n  %s" % (len(FAILURES), "\n  ".join(FAILURES)))
        return 1
    print("all man page checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
