#!/usr/bin/env bash
# timeout-rate.sh - the probe rate against the offline lab when 5% of the names time out,
# as a ratio to the rate when none do, measured alternately in the same process
# (bench/timeout_rate.cc drives the crawler library; the silent names go to the lab's
# never-answering server).
#
# Usage: bench/timeout-rate.sh [NAMES] [REPEATS] [CONCURRENCY] [TIMEOUT_SHARE] [STALL_MS]
#        (defaults 20000, 3, 150, 0.05, the crawler's default stall_after). Needs a build (deploy/build).
# Prints per run and the medians: "round rate" counts the wait for the last timeout (one
# timeout period, 2 tries = 6 s, is the floor of any round that has one); "answered-name
# rate" is how fast the other names go on while the timeouts are pending.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FLUXWATCH_BUILD_DIR:-$src/build}"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
case "$build_type" in
    Release | RelWithDebInfo) ;;
    *) echo "timeout-rate.sh: warning: $build is a '${build_type:-unknown}' build; measure an optimised one (deploy/build makes RelWithDebInfo)" >&2 ;;
esac
work="$(mktemp -d "${TMPDIR:-/tmp}/fluxwatch-timeouts.XXXXXX")"
chmod 755 "$work"
export LAB_OUT="$work/lab" LAB_PORT="${BENCH_LAB_PORT:-5330}" LAB_BLACKHOLE_PORT="${BENCH_LAB_BLACKHOLE_PORT:-5331}"
cleanup() {
    "$src/deploy/lab/stop-lab.sh" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
if [[ ! -x "$build/bench/fluxwatch-timeout-bench" ]]; then
    echo "timeout-rate.sh: $build/bench/fluxwatch-timeout-bench is missing: run deploy/build (with FLUXWATCH_BUILD_BENCH=ON, the default)" >&2
    exit 1
fi
"$src/deploy/lab/start-lab.sh" >/dev/null
"$build/bench/fluxwatch-timeout-bench" "127.0.0.1:$LAB_PORT" "127.0.0.1:$LAB_BLACKHOLE_PORT" \
    "${1:-20000}" "${2:-3}" "${3:-150}" "${4:-0.05}" ${5:+"$5"}
