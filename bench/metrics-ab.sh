#!/usr/bin/env bash
# metrics-ab.sh - what Prometheus metrics cost on the probing rate: the same command with
# metrics on and off, interleaved per repetition on the same nsd zone and fluxwatch-managed
# PostgreSQL, timed as a user waits for it (the whole process, start-up and last commit
# included). Three commands: `probe --no-store` (resolution alone, where a per-result cost
# shows most), `probe` end to end, and `run --once` (the daemon's worker path; all domains
# made due again before each run). "on" = --metrics-file (every result counted by
# resolver, type and outcome, latency and lateness histograms, the file written at the
# end); "off" = none of it.
# Usage: bench/metrics-ab.sh [NAMES] [REPEATS]      (defaults 50000 3)
# Environment: FLUXWATCH_BUILD_DIR (default build/), BENCH_NSD_PORT (default 5390).
# Output: one line per run, then per command the median names/s off and on and on/off, and
# fluxwatch's own CPU time (user + system) per name off and on: on a shared machine the
# rate swings with the load, the CPU time per name much less.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
names="${1:-50000}"
repeats="${2:-3}"
bench_positive "$names" "$repeats"
bench_need_build
bench_need_tools nsd time
bench_workdir metrics-ab
bench_on_exit '"${fw[@]}" db stop --force'

bench_start_nsd "$names"
"${fw[@]}" init >/dev/null
"${fw[@]}" watchlist import "$work/nsd/names.txt" >/dev/null
dsn="$("${fw[@]}" db dsn)"
printf 'resolvers: ["127.0.0.1:%s"]\nprobe:\n  record_types: [A]\n  concurrency: 1000\n' \
    "$nsd_port" >"$work/config.yaml"
fwc=("$fw_bin" --config "$work/config.yaml" --state-dir "$work/state" -q)

declare -A rates cpus
for ((r = 1; r <= repeats; r++)); do
    for command in probe-no-store probe run-once; do
        for metrics in off on; do
            args=()
            case "$command" in
                probe-no-store) args=(probe --no-store --progress never) ;;
                probe) args=(probe --progress never) ;;
                run-once)
                    psql "$dsn" -X -q -c "UPDATE schedule SET next_due = now() - interval '1 second'" 2>/dev/null || true
                    args=(run --once --progress never) ;;
            esac
            [[ "$metrics" == on ]] && args+=(--metrics-file "$work/metrics.prom")
            start="$(date +%s.%N)"
            /usr/bin/time -f '%U %S' -o "$work/time" "${fwc[@]}" "${args[@]}" >"$work/run.log" 2>&1 ||
                { echo "$me: $command failed:" >&2; tail "$work/run.log" >&2; exit 1; }
            end="$(date +%s.%N)"
            rate="$(awk -v n="$names" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')"
            cpu="$(awk -v n="$names" '{ printf "%.2f", ($1 + $2) * 1e6 / n }' "$work/time")"
            rates[$command.$metrics]+="$rate "
            cpus[$command.$metrics]+="$cpu "
            echo "run $r: $command metrics=$metrics names/s=$rate cpu_us/name=$cpu"
        done
    done
done
grep -q '^fluxwatch_queries_total{' "$work/metrics.prom" || { echo "$me: no metrics written" >&2; exit 1; }
echo
printf '%-16s %12s %12s %8s %14s %14s %8s\n' command "off names/s" "on names/s" "on/off" \
    "off cpu_us/name" "on cpu_us/name" "on/off"
for command in probe-no-store probe run-once; do
    off="$(tr ' ' '\n' <<<"${rates[$command.off]}" | grep . | median)"
    on="$(tr ' ' '\n' <<<"${rates[$command.on]}" | grep . | median)"
    coff="$(tr ' ' '\n' <<<"${cpus[$command.off]}" | grep . | median)"
    con="$(tr ' ' '\n' <<<"${cpus[$command.on]}" | grep . | median)"
    printf '%-16s %12.0f %12.0f %8.3f %14.2f %14.2f %8.3f\n' "$command" "$off" "$on" \
        "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')" "$coff" "$con" \
        "$(awk -v a="$con" -v b="$coff" 'BEGIN { print a / b }')"
done
