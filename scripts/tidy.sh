#!/usr/bin/env bash
# clang-tidy (.clang-tidy; rules in docs/style.md) over every .cpp of the rooms, and through them
# over the rooms' headers, using BUILD's compile_commands.json (configured here if missing).
# Exits non-zero on any finding. Used by `make lint` and by scripts/run-tests.sh.
#   BUILD=build JOBS=2 scripts/tidy.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
ROOMS="base|hb|repl|core|chassis|subagent|metrics|daemon|cli"

runner=$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)
if [ -z "$runner" ] || ! command -v clang-tidy >/dev/null 2>&1; then
  echo "clang-tidy FAILED: clang-tidy / run-clang-tidy are not installed (scripts/install-deps.sh)"
  exit 1
fi
if [ ! -f "$BUILD/compile_commands.json" ]; then
  GEN=""
  command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
  cmake -S . -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -Wno-unknown-warning-option: the compile commands are GCC's (-Wno-restrict and friends).
"$runner" -p "$BUILD" -j "$JOBS" -quiet -extra-arg=-Wno-unknown-warning-option \
  "^$ROOT/($ROOMS)/[^/]*\.cpp\$" >"$log" 2>&1
rc=$?
sed -i 's/\x1b\[[0-9;]*m//g' "$log" # no colours
# A header's finding is reported once per source that includes it: print each one once.
findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log" | sort -u)
files=$(sed -n 's/^clang-tidy.* \(\/[^ ]*\.cpp\)$/\1/p' "$log" | sort -u | wc -l)
if [ $rc -ne 0 ] || [ -n "$findings" ]; then
  if [ -n "$findings" ]; then
    echo "$findings"
    echo "clang-tidy FAILED: $(echo "$findings" | wc -l) finding(s) in $files file(s) checked"
  else
    tail -40 "$log"
    echo "clang-tidy FAILED (exit $rc)"
  fi
  exit 1
fi
echo "clang-tidy: $files files, no finding"
