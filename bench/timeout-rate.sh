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
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_check_build_type
bench_need_build bench/fluxwatch-timeout-bench
bench_workdir timeouts
bench_start_lab 5330
"$build/bench/fluxwatch-timeout-bench" "127.0.0.1:$LAB_PORT" "127.0.0.1:$LAB_BLACKHOLE_PORT" \
    "${1:-20000}" "${2:-3}" "${3:-150}" "${4:-0.05}" ${5:+"$5"}
