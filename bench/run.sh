#!/usr/bin/env bash
# run.sh - the benchmark suite of issue 6 in one command (docs/performance.md). Prints one
# table; every compared figure is a ratio to its reference measured in the same run, and
# each is the median of REPEATS repetitions (the machine is shared and noisy).
#
#   1. ceiling      dnsperf against a local nsd serving NAMES names (1-5 A records each)
#   2. resolution   `fluxwatch probe --no-store` over the same names: names/s, lost answers
#   3. end to end   `fluxwatch probe` resolving, enriching (lab MMDBs) and committing to
#                   PostgreSQL: names/s, rows/s, peak RSS
#   (2 and 3 time the whole process, start-up and last commit included; the round's own
#   rate from its summary line is shown beside)
#   4. ingest       fluxwatch's writer (bench/fluxwatch-ingest-bench) against psql's COPY of
#                   exactly the rows it wrote
#   5. scheduler    bench/scheduler-bench.sh (peak RSS per domain at BIG domains, dispatch)
#   6. scoring      bench/score-bench.sh (score time, research-query latency)
#
# Usage: bench/run.sh [options]
#   --names N            names in the zone and the watchlist (default 100000)
#   --repeats R          repetitions of items 1-4 (default 5)
#   --concurrency C      queries in flight, dnsperf and fluxwatch alike (default 1000)
#   --score D P          score-bench size: D domains x P probes (default 10000 100 = 1M;
#                        `--score 100000 100` is the full 10M and takes several minutes)
#   --full               shorthand for --score 100000 100
#   --sched NAMES BIG SECONDS   scheduler-bench arguments (default 20000 1000000 30)
#   --skip ITEMS         comma list of items to skip: scheduler, score
#   --keep               keep the work directory (logs, nsd, data) and say where
# Environment: FLUXWATCH_BUILD_DIR (default build/), BENCH_NSD_PORT (default 5390),
#   BENCH_LAB_PORT / BENCH_LAB_BLACKHOLE_PORT (the PowerDNS lab of scheduler-bench.sh, 5370/5371).
# Needs: deploy/install-deps (nsd, dnsperf, postgresql, time) and deploy/build.
# Starts its own nsd (loopback, BENCH_NSD_PORT) and its own fluxwatch-managed PostgreSQL
# (Unix socket in the work directory) and stops both at the end. Logs of every step are in
# the work directory; run with --keep to look at them.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

names=100000 repeats=5 concurrency=1000
score_domains=10000 score_probes=100
sched_names=20000 sched_big=1000000 sched_seconds=30
skip=""
usage() { sed -n '/^# Usage/,/^# Needs/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --names) names="$2"; shift 2 ;;
        --repeats) repeats="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --score) score_domains="$2"; score_probes="$3"; shift 3 ;;
        --full) score_domains=100000; score_probes=100; shift ;;
        --sched) sched_names="$2"; sched_big="$3"; sched_seconds="$4"; shift 4 ;;
        --skip) skip="$2"; shift 2 ;;
        --keep) bench_keep=1; shift ;;
        -h|--help) usage ;;
        *) echo "$me: unknown option $1" >&2; usage ;;
    esac
done
bench_positive "$names" "$repeats" "$concurrency" "$score_domains" "$score_probes"
bench_check_build_type
ingest_bin="$build/bench/fluxwatch-ingest-bench"
bench_need_build bench/fluxwatch-ingest-bench
bench_need_tools nsd dnsperf psql perl dig time
bench_workdir bench
skipped() { [[ ",$skip," == *",$1,"* ]]; }

# --- set-up: nsd with the zone, MMDBs, PostgreSQL, the watchlist ---------------------------
log "generating $names names and starting nsd on 127.0.0.1:$nsd_port"
bench_start_nsd "$names"
sed 's/$/ A/' "$work/nsd/names.txt" >"$work/dnsperf.txt"
log "building the lab's MMDBs"
perl "$src/deploy/lab/build-mmdb.pl" "$src/deploy/lab/lab-networks.psv" "$work/mmdb" >/dev/null
log "starting PostgreSQL and importing the watchlist"
"${fw[@]}" init >/dev/null
dsn="$("${fw[@]}" db dsn)"
"${fw[@]}" watchlist import "$work/nsd/names.txt" >/dev/null
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"; }

probe=("${fw[@]}" probe --resolver "127.0.0.1:$nsd_port" --types A --concurrency "$concurrency"
       --progress never -v)
# "round 1 (run N): Q queries in S s (R/s), K records ..., E errors; noerror Q, timeout T"
round_field() {   # round_field LOG FIELD
    local line
    line="$(grep -o 'round 1 (run [0-9]*): .*' "$1" | tail -n 1)"
    [[ -n "$line" ]] || { echo "$me: no round summary in $1:" >&2; tail -5 "$1" >&2; exit 1; }
    case "$2" in
        queries) sed -n 's/.*: \([0-9]*\) queries in.*/\1/p' <<<"$line" ;;
        seconds) sed -n 's/.* queries in \([0-9.]*\) s .*/\1/p' <<<"$line" ;;
        rate) sed -n 's/.* s (\([0-9]*\)\/s).*/\1/p' <<<"$line" ;;
        records) sed -n 's/.*), \([0-9]*\) records.*/\1/p' <<<"$line" ;;
        errors) sed -n 's/.* \([0-9]*\) errors;.*/\1/p' <<<"$line" ;;
        timeouts) grep -o 'timeout [0-9]*' <<<"$line" | awk '{ s += $2 } END { print s + 0 }' ;;
    esac
}

# --- 1-3: dnsperf, resolution only, end to end, interleaved per repetition ------------------
ref=() res=() res_lost=() e2e=() e2e_rows=() e2e_rss=() e2e_lost=() ref_lost=() res_round=() e2e_round=()
now() { date +%s.%N; }
per_second() { awk -v n="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", n / (e - s) }'; }
for ((r = 1; r <= repeats; r++)); do
    log "repetition $r/$repeats: dnsperf"
    # -b 4096: 4 MiB socket buffers like fluxwatch's (with dnsperf's default it loses answers)
    dnsperf -s 127.0.0.1 -p "$nsd_port" -d "$work/dnsperf.txt" -n 1 -c 1 -T 1 \
        -q "$concurrency" -b 4096 -t 5 >"$work/dnsperf.$r.log" 2>&1
    ref+=("$(awk '/Queries per second/ { printf "%.0f", $4 }' "$work/dnsperf.$r.log")")
    ref_lost+=("$(awk '/Queries lost/ { print $3 }' "$work/dnsperf.$r.log")")

    # Items 2 and 3 time the whole process, exec to exit (start-up, watchlist load, last
    # commit and run totals included: what a user waits for); the round's own rate, from
    # its summary line, is kept beside it.
    log "repetition $r/$repeats: fluxwatch probe --no-store"
    start="$(now)"
    "${probe[@]}" --no-store >"$work/resolve.$r.log" 2>&1
    res+=("$(per_second "$names" "$start" "$(now)")")
    res_round+=("$(round_field "$work/resolve.$r.log" rate)")
    res_lost+=("$(round_field "$work/resolve.$r.log" errors)")

    log "repetition $r/$repeats: fluxwatch probe (resolve, enrich, commit)"
    start="$(now)"
    /usr/bin/time -f '%M' -o "$work/e2e.$r.rss" "${probe[@]}" \
        --asn-db "$work/mmdb/lab-ASN.mmdb" --city-db "$work/mmdb/lab-City.mmdb" \
        >"$work/e2e.$r.log" 2>&1
    end="$(now)"
    e2e+=("$(per_second "$names" "$start" "$end")")
    e2e_round+=("$(round_field "$work/e2e.$r.log" rate)")
    e2e_lost+=("$(round_field "$work/e2e.$r.log" errors)")
    e2e_rows+=("$(per_second "$(( $(round_field "$work/e2e.$r.log" queries) + $(round_field "$work/e2e.$r.log" records) ))" "$start" "$end")")
    e2e_rss+=("$(tail -n 1 "$work/e2e.$r.rss")")
done
join() { local IFS=' '; echo "$*"; }
ref_med="$(printf '%s\n' "${ref[@]}" | median)"
res_med="$(printf '%s\n' "${res[@]}" | median)"
e2e_med="$(printf '%s\n' "${e2e[@]}" | median)"
e2e_rows_med="$(printf '%s\n' "${e2e_rows[@]}" | median)"
res_round_med="$(printf '%s\n' "${res_round[@]}" | median)"
e2e_round_med="$(printf '%s\n' "${e2e_round[@]}" | median)"
e2e_rss_max="$(printf '%s\n' "${e2e_rss[@]}" | sort -g | tail -n 1)"
sum() { awk '{ s += $1 } END { print s + 0 }'; }
res_lost_sum="$(printf '%s\n' "${res_lost[@]}" | sum)"
e2e_lost_sum="$(printf '%s\n' "${e2e_lost[@]}" | sum)"
ref_lost_sum="$(printf '%s\n' "${ref_lost[@]}" | sum)"
# The stored rows of the last end-to-end round, as a check that it really stored them.
stored_probes="$(psql_ -Atc "SELECT count(*) FROM probes WHERE run_id = (SELECT max(run_id) FROM probe_runs)")"

# --- 4: ingest: the writer vs psql COPY of the same rows -----------------------------------
ing=() copy=()
for ((r = 1; r <= repeats; r++)); do
    log "repetition $r/$repeats: ingest (writer, then psql COPY of the same rows)"
    # Schema 15 (migrations 0009, 0013, 0015): the writer's tables. Truncated before each
    # repetition; the reference is psql's COPY of exactly the rows the writer left in them.
    tables="observations answer_set_contents answer_set_counters shared_parts addresses probe_contexts"
    psql_ -c "TRUNCATE ${tables// /, }"
    "$ingest_bin" --dsn "$dsn" --probes "$names" >"$work/ingest.$r.log" 2>&1 ||
        { echo "$me: ingest bench failed:" >&2; cat "$work/ingest.$r.log" >&2; exit 1; }
    ing+=("$(sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p' "$work/ingest.$r.log")")
    count_rows() { psql_ -Atc "SELECT $(for t in $tables; do printf '(SELECT count(*) FROM %s) + ' "$t"; done) 0"; }
    rows="$(count_rows)"
    for t in $tables; do psql_ -c "\\copy (SELECT * FROM $t) TO '$work/$t.copy'"; done
    psql_ -c "TRUNCATE ${tables// /, }"
    load=()
    for t in $tables; do load+=(-c "\\copy $t FROM '$work/$t.copy'"); done
    start="$(now)"
    psql_ -1 "${load[@]}"
    end="$(now)"
    copied="$(count_rows)"
    [[ "$copied" == "$rows" ]] || { echo "$me: psql COPY loaded $copied rows, the writer $rows" >&2; exit 1; }
    copy+=("$(awk -v n="$rows" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }')")
    echo "psql COPY: rows=$rows seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }') rows_per_s=${copy[-1]}" >"$work/copy.$r.log"
done
ing_med="$(printf '%s\n' "${ing[@]}" | median)"
copy_med="$(printf '%s\n' "${copy[@]}" | median)"
"${fw[@]}" db stop >/dev/null

# --- 5: scheduler ---------------------------------------------------------------------------
sched_line="skipped" sched_disp="skipped"
if ! skipped scheduler; then
    log "scheduler-bench.sh $sched_names $sched_big $sched_seconds"
    FLUXWATCH_BUILD_DIR="$build" BENCH_LAB_PORT="${BENCH_LAB_PORT:-5370}" \
        BENCH_LAB_BLACKHOLE_PORT="${BENCH_LAB_BLACKHOLE_PORT:-5371}" "$src/bench/scheduler-bench.sh" "$sched_names" "$sched_big" "$sched_seconds" \
        >"$work/scheduler.log" 2>&1 || { echo "$me: scheduler-bench.sh failed:" >&2; tail "$work/scheduler.log" >&2; }
    sched_line="$(sed -n 's/^peak RSS, \([0-9]*\) domains scheduled.*: \([0-9]*\) KiB = \([0-9.]*\) bytes\/domain/\2 KiB at \1 domains = \3 B\/domain/p' "$work/scheduler.log")"
    sched_line="${sched_line:-failed (see scheduler.log)}"
    sched_disp="$(sed -n 's/^dispatch: .* = \([0-9]*\)\/s .*dnsperf: \([0-9.-]*\) q\/s.*/\1 domains\/s (lab; dnsperf \2 q\/s)/p' "$work/scheduler.log")"
fi

# --- 6: scoring and research queries --------------------------------------------------------
score_line="skipped" q_history="-" q_address="-"
if ! skipped score; then
    log "score-bench.sh $score_domains $score_probes"
    FLUXWATCH_BUILD_DIR="$build" "$src/bench/score-bench.sh" "$score_domains" "$score_probes" \
        >"$work/score.log" 2>&1 || { echo "$me: score-bench.sh failed:" >&2; tail "$work/score.log" >&2; }
    score_line="$(sed -n 's/^fluxwatch score: \([0-9.]*\) s.*/\1 s/p' "$work/score.log" | tail -n 1)"
    score_line="${score_line:-failed (see score.log)}"
    exec_time() {   # the first "Execution Time" after the header that matches $1
        awk -v h="$1" '/^--- / { on = index($0, h) > 0 } on && /Execution Time/ { print $3 " ms"; exit }' "$work/score.log"
    }
    q_history="$(exec_time "one domain's history")"
    q_address="$(exec_time "one address across domains")"
fi

# --- the table ------------------------------------------------------------------------------
probes_total=$((score_domains * score_probes))
cpu="$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
printf '\nfluxwatch benchmark, %s, %s cores (%s), %s names, %s in flight, median of %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$cpu" "$names" "$concurrency" "$repeats"
fmt='%-4s %-52s %22s %8s\n'
printf "$fmt" "item" "measure" "value" "ratio"
printf "$fmt" "1" "dnsperf -> nsd, same names (ceiling)" "$(printf '%.0f q/s' "$ref_med")" "1.00"
printf "$fmt" "" "  lost by dnsperf, all repetitions" "$ref_lost_sum" ""
printf "$fmt" "2" "resolution only (probe --no-store, whole process)" "$(printf '%.0f names/s' "$res_med")" "$(ratio "$res_med" "$ref_med")"
printf "$fmt" "" "  the round alone (its summary line)" "$(printf '%.0f names/s' "$res_round_med")" "$(ratio "$res_round_med" "$ref_med")"
printf "$fmt" "" "  lost answers (timeouts+errors), all repetitions" "$res_lost_sum" ""
printf "$fmt" "3" "end to end: resolved, enriched, committed (process)" "$(printf '%.0f names/s' "$e2e_med")" "$(ratio "$e2e_med" "$ref_med")"
printf "$fmt" "" "  the round alone (its summary line)" "$(printf '%.0f names/s' "$e2e_round_med")" "$(ratio "$e2e_round_med" "$ref_med")"
printf "$fmt" "" "  rows stored per second (probes + records)" "$(printf '%.0f rows/s' "$e2e_rows_med")" ""
printf "$fmt" "" "  lost answers, all repetitions" "$e2e_lost_sum" ""
printf "$fmt" "" "  peak RSS (max over repetitions)" "$(awk -v k="$e2e_rss_max" 'BEGIN { printf "%.1f MiB", k / 1024 }')" ""
printf "$fmt" "" "  probes stored by the last round" "$stored_probes" ""
printf "$fmt" "4" "psql COPY of the same rows (storage ceiling)" "$(printf '%.0f rows/s' "$copy_med")" "1.00"
printf "$fmt" "" "fluxwatch writer (storage::Database::store)" "$(printf '%.0f rows/s' "$ing_med")" "$(ratio "$ing_med" "$copy_med")"
printf "$fmt" "5" "scheduler peak RSS" "$sched_line" ""
printf "$fmt" "" "  dispatch" "$sched_disp" ""
printf "$fmt" "6" "fluxwatch score, $probes_total probes" "$score_line" ""
printf "$fmt" "" "  one domain's history (answers)" "$q_history" ""
printf "$fmt" "" "  one address across domains" "$q_address" ""
printf '\nper repetition: dnsperf %s | no-store %s | e2e %s | writer %s | COPY %s\n' \
    "$(join "${ref[@]}")" "$(join "${res[@]}")" "$(join "${e2e[@]}")" "$(join "${ing[@]}")" "$(join "${copy[@]}")"
printf 'targets: resolution >= 0.90 with 0 lost; end to end >= 0.50; writer >= 0.80 of COPY; scheduler <= 200 B/domain\n'
