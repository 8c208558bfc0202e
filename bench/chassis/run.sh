#!/usr/bin/env bash
# Builds and runs bench_chassis against a private ipmi_sim. Usage: bench/chassis/run.sh [BUILD_DIR] [ITERATIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$here/build}"
iterations="${2:-200}"
[ -f "$build/CMakeCache.txt" ] || cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target bench_chassis hsfix_bmc
"$build/bench/chassis/bench_chassis" "$iterations"
