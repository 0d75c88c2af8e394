#!/usr/bin/env bash
# e2e-cpu.sh - where the CPU time of one name goes in bench/run.sh's end to end (item 3): the
# same nsd zone, MMDBs, fluxwatch-managed PostgreSQL and `fluxwatch probe` command, with the
# CPU time (user + system) of each party per name: fluxwatch itself (with and without
# storing), nsd, and the PostgreSQL cluster (postmaster, its children and the reaped
# backends). On a machine of C cores, C / (their sum) is the rate the CPU allows, whatever
# the load of other sessions (docs/scaling.md, "What bounds end to end on one machine").
# Usage: bench/e2e-cpu.sh [NAMES] [REPEATS]      (defaults 100000 3)
# Environment: FLUXWATCH_BUILD_DIR (default build/), BENCH_NSD_PORT (default 5390).
#   E2E_CPU_SETTINGS="name=value ..."  also measure end to end with these server settings
#   (ALTER SYSTEM and a restart of the cluster before each such run, reset afterwards), as
#   the mode e2e-settings, interleaved with the others; e2e then also restarts the cluster
#   (with the defaults) before each run.
# Output: one line per run, then the medians: us of CPU per name for each party.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
names="${1:-100000}"
repeats="${2:-3}"
bench_positive "$names" "$repeats"
bench_need_build
bench_need_tools nsd perl time
bench_workdir e2ecpu
# tree_seconds ROOT_PID: CPU seconds of a process tree (bench/lib/cpu.sh).
source "$src/bench/lib/cpu.sh"

bench_start_nsd "$names"
perl "$src/deploy/lab/build-mmdb.pl" "$src/deploy/lab/lab-networks.psv" "$work/mmdb" >/dev/null
"${fw[@]}" init >/dev/null
"${fw[@]}" watchlist import "$work/nsd/names.txt" >/dev/null
nsd_pid="$(cat "$work/nsd/nsd.pid")"
postmaster() {
    local pid
    pid="$(head -n 1 "$work/state/postgres/data/postmaster.pid" 2>/dev/null || true)"
    [[ -n "$pid" && -d "/proc/$pid" ]] || { echo "$me: cannot find the cluster's postmaster" >&2; exit 1; }
    echo "$pid"
}
settings=(${E2E_CPU_SETTINGS:-})
modes=(no-store e2e)
[[ ${#settings[@]} -gt 0 ]] && modes+=(e2e-settings)
dsn="$("${fw[@]}" db dsn)"
restart_with() {   # restart_with SETTING... : ALTER SYSTEM RESET ALL, then SET each, restart
    local s
    psql "$dsn" -X -q -v ON_ERROR_STOP=1 -c "ALTER SYSTEM RESET ALL"
    for s in "$@"; do
        [[ "$s" =~ ^[a-z_]+=[A-Za-z0-9_.]+$ ]] || { echo "$me: bad setting '$s' (name=value)" >&2; exit 2; }
        psql "$dsn" -X -q -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET ${s%%=*} = '${s#*=}'"
    done
    "${fw[@]}" db stop >/dev/null
    "${fw[@]}" db start >/dev/null   # db stop stays stopped until db start
}
probe=("${fw[@]}" probe --resolver "127.0.0.1:$nsd_port" --types A --concurrency 1000 --progress never)
per_name() { awk -v a="$1" -v b="$2" -v n="$names" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }'; }

declare -A v
for ((r = 1; r <= repeats; r++)); do
    for mode in "${modes[@]}"; do
        extra=(--no-store)
        [[ "$mode" == e2e* ]] && extra=(--asn-db "$work/mmdb/lab-ASN.mmdb" --city-db "$work/mmdb/lab-City.mmdb")
        # Both end-to-end modes start from a fresh server (cold shared buffers), so that the
        # comparison is of the settings, not of the restart.
        [[ "$mode" == e2e-settings ]] && restart_with "${settings[@]}"
        [[ "$mode" == e2e && ${#settings[@]} -gt 0 ]] && restart_with
        pg_pid="$(postmaster)"
        n0="$(tree_seconds "$nsd_pid")" p0="$(tree_seconds "$pg_pid")"
        /usr/bin/time -f '%U %S %e' -o "$work/time" "${probe[@]}" "${extra[@]}" >"$work/probe.log" 2>&1 ||
            { echo "$me: fluxwatch probe failed:" >&2; tail "$work/probe.log" >&2; exit 1; }
        sleep 0.3   # the writer's backend exits and is reaped
        n1="$(tree_seconds "$nsd_pid")" p1="$(tree_seconds "$pg_pid")"
        read -r user sys wall <"$work/time"
        fwc="$(awk -v u="$user" -v s="$sys" -v n="$names" 'BEGIN { printf "%.1f", (u + s) * 1e6 / n }')"
        nsdc="$(per_name "$n0" "$n1")" pgc="$(per_name "$p0" "$p1")"
        rate="$(awk -v w="$wall" -v n="$names" 'BEGIN { printf "%.0f", n / w }')"
        echo "mode=$mode repetition=$r fluxwatch_us=$fwc nsd_us=$nsdc postgres_us=$pgc names_per_s_wall=$rate"
        v[$mode-fw]+="$fwc " v[$mode-nsd]+="$nsdc " v[$mode-pg]+="$pgc " v[$mode-rate]+="$rate "
        [[ "$mode" == e2e-settings ]] && restart_with
    done
done
m() { printf '%s\n' ${v[$1]} | median; }
printf '\nCPU per name (us, median of %s), %s names, %s cores, load %s\n' "$repeats" "$names" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
fmt='%-13s %10s %8s %10s %8s %22s %16s\n'
[[ ${#settings[@]} -gt 0 ]] && echo "e2e-settings: ${settings[*]}"
printf "$fmt" "mode" "fluxwatch" "nsd" "postgres" "sum" "cores/sum (names/s)" "wall names/s"
for mode in "${modes[@]}"; do
    sum="$(awk -v a="$(m "$mode-fw")" -v b="$(m "$mode-nsd")" -v c="$(m "$mode-pg")" 'BEGIN { printf "%.1f", a + b + c }')"
    printf "$fmt" "$mode" "$(m "$mode-fw")" "$(m "$mode-nsd")" "$(m "$mode-pg")" "$sum" \
        "$(awk -v s="$sum" -v c="$(nproc)" 'BEGIN { printf "%.0f", c * 1e6 / s }')" "$(m "$mode-rate")"
done
