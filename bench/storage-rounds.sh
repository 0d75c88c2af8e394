#!/usr/bin/env bash
# storage-rounds.sh - issue 12's storage figures in one command (docs/performance.md,
# "Storage rounds"): the whole `fluxwatch probe --types A` process over NAMES names of a local
# nsd (rate limiting off), against dnsperf on the same server in the same repetition, for
#   round 1     a fresh database: every answer is new;
#   unchanged   the same names again: every answer set is already stored;
#   changed     20% of the names (every fifth) answer with other addresses;
# and the database's growth per probe after a CHECKPOINT (every table of the schema with its
# indexes and TOAST: pg_total_relation_size), for round 1 and the unchanged round.
# Every ratio is fluxwatch's names/s over dnsperf's queries/s of the same repetition; the
# table gives medians over REPEATS repetitions, and the load (uptime) before and after.
#
# Usage: bench/storage-rounds.sh [--names N] [--repeats R] [--concurrency C] [--keep]
#   defaults: 100000 names, 3 repetitions, 1000 queries in flight
# Environment: FLUXWATCH_BUILD_DIR (default build/), BENCH_NSD_PORT (default 5390).
# Needs: nsd, dnsperf, dig, psql, perl (deploy/install-deps) and a Release build.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
names=100000 repeats=3 concurrency=1000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --names) names="$2"; shift 2 ;;
        --repeats) repeats="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --keep) bench_keep=1; shift ;;
        -h|--help) sed -n '/^# Usage/,/^# Needs/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "$me: unknown option $1" >&2; exit 2 ;;
    esac
done
bench_positive "$names" "$repeats" "$concurrency"
bench_need_build
bench_need_tools nsd dnsperf dig psql
bench_workdir storage-rounds
log() { printf '%s: %s\n' "$me" "$*" >&2; }   # always: a long run says where it is
load_before="$(uptime)"

log "generating $names names and starting nsd on 127.0.0.1:$nsd_port"
bench_start_nsd "$names"
cp "$work/nsd/bench.test.zone" "$work/zone.original"
# The changed zone: every fifth name answers from 127.65.x.y instead.
awk '/^n[0-9]+ IN A / { i = substr($1, 2) + 0; if (i % 5 == 0) sub(/127\.64\./, "127.65.") } { print }' \
    "$work/zone.original" >"$work/zone.changed"
sed 's/$/ A/' "$work/nsd/names.txt" >"$work/dnsperf.txt"
"${fw[@]}" init >/dev/null
dsn="$("${fw[@]}" db dsn)"
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }

serve() {   # serve original|changed: restart nsd with that zone
    "$src/bench/nsd-server.sh" stop "$work/nsd" >/dev/null
    cp "$work/zone.$1" "$work/nsd/bench.test.zone"
    "$src/bench/nsd-server.sh" start "$work/nsd" "$names" "$nsd_port" >/dev/null
}
dnsperf_qps() {
    # -b 4096: 4 MiB socket buffers like fluxwatch's (with dnsperf's default it loses answers)
    dnsperf -s 127.0.0.1 -p "$nsd_port" -d "$work/dnsperf.txt" -n 1 -c 1 -T 1 \
        -q "$concurrency" -b 4096 -t 5 >"$work/dnsperf.log" 2>&1
    awk '/Queries per second/ { printf "%.0f", $4 }' "$work/dnsperf.log"
}
# Bytes of every relation of the schema (tables, partitions, indexes, TOAST), after a
# checkpoint, so that what is written is on disk.
disk_bytes() {
    psql_ -Atc "CHECKPOINT" >/dev/null
    psql_ -Atc "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"
}
probes_count() { psql_ -Atc "SELECT count(*) FROM observations"; }
# One timed `fluxwatch probe` process; prints names/s over the whole process.
probe_rate() {
    local start end
    start="$(now)"
    "${fw[@]}" probe --resolver "127.0.0.1:$nsd_port" --types A --concurrency "$concurrency" \
        --progress never -v >"$work/probe.log" 2>&1
    end="$(now)"
    grep -o 'round 1 (run [0-9]*): .*' "$work/probe.log" | tail -n 1 >>"$work/rounds.log"
    awk -v n="$names" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

r1=() r2=() r3=() d1=() d2=() lost=()
for ((r = 1; r <= repeats; r++)); do
    log "repetition $r/$repeats: fresh schema, watchlist"
    serve original
    # every schema fluxwatch creates (0011 keeps feed salts in fluxwatch_private)
    psql_ -c "DROP SCHEMA IF EXISTS fluxwatch_private CASCADE; DROP SCHEMA public CASCADE; CREATE SCHEMA public" >/dev/null 2>&1
    "${fw[@]}" init >/dev/null
    "${fw[@]}" watchlist import "$work/nsd/names.txt" >/dev/null
    for round in 1 2 3; do
        [[ "$round" == 3 ]] && serve changed
        ref="$(dnsperf_qps)"
        before_bytes="$(disk_bytes)" before_probes="$(probes_count)"
        rate="$(probe_rate)"
        after_bytes="$(disk_bytes)" after_probes="$(probes_count)"
        added=$((after_probes - before_probes))
        [[ "$added" == "$names" ]] || { log "round $round stored $added probes, not $names"; lost+=("$((names - added))"); }
        per_probe="$(awk -v b="$((after_bytes - before_bytes))" -v p="$added" 'BEGIN { printf "%.0f", b / p }')"
        log "round $round: fluxwatch $rate names/s, dnsperf $ref q/s, ratio $(ratio "$rate" "$ref"), $per_probe B/probe"
        case "$round" in
            1) r1+=("$(ratio "$rate" "$ref")"); d1+=("$per_probe") ;;
            2) r2+=("$(ratio "$rate" "$ref")"); d2+=("$per_probe") ;;
            3) r3+=("$(ratio "$rate" "$ref")") ;;
        esac
    done
done
errors="$(awk '{ for (i = 1; i <= NF; i++) if ($(i+1) == "errors;") s += $i } END { print s + 0 }' "$work/rounds.log")"
load_after="$(uptime)"
med() { printf '%s\n' "$@" | median; }
printf '%-34s %10s %10s\n' "measure (median of $repeats)" "value" "target"
printf '%-34s %10s %10s\n' "round 1 (all new) vs dnsperf" "$(med "${r1[@]}")" ">= 0.5"
printf '%-34s %10s %10s\n' "unchanged round vs dnsperf" "$(med "${r2[@]}")" ">= 0.8"
printf '%-34s %10s %10s\n' "20% changed round vs dnsperf" "$(med "${r3[@]}")" ">= 0.7"
printf '%-34s %10s %10s\n' "disk per probe, round 1 (B)" "$(med "${d1[@]}")" "<= 500"
printf '%-34s %10s %10s\n' "disk per probe, unchanged (B)" "$(med "${d2[@]}")" "<= 100"
printf '%-34s %10s %10s\n' "probes not stored" "$(printf '%s\n' "${lost[@]:-0}" | awk '{ s += $1 } END { print s + 0 }')" "0"
printf '%-34s %10s %10s\n' "probe errors (timeouts etc.)" "$errors" "0"
echo "all ratios: round1 ${r1[*]} | unchanged ${r2[*]} | changed ${r3[*]}; bytes ${d1[*]} | ${d2[*]}"
echo "load before: $load_before"
echo "load after:  $load_after"
