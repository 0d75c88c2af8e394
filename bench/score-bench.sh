#!/usr/bin/env bash
# score-bench.sh - `fluxwatch score` over DOMAINS x PROBES synthetic probes (docs/performance.md,
# "Scoring"), and EXPLAIN ANALYZE of the main view queries.
#   Data (bench/lib/history.sql, the generator of sql-bench.sh and web-bench.sh too: generated
#   in SQL straight into today's tables, in the fluxwatch-managed PostgreSQL of a temporary
#   state directory): DOMAINS watched domains, PROBES rounds each, 10 minutes apart (every
#   10th an NS probe with glue, the others A). 10% fast flux (4 of 20,000 addresses in 400
#   ASNs, a new set every round, TTL 30), 20% CDN-like (4 of 64 addresses of one ASN, 16 sets,
#   TTL 300), 70% stable (2 fixed addresses, TTL 3600). Every address is enriched.
# Usage: bench/score-bench.sh [DOMAINS] [PROBES]        (defaults 100000 100 = 10M probes)
# Needs a build (FLUXWATCH_BUILD_DIR, default build/) and /usr/bin/time. The cluster is
# stopped at the end.
#   SCORE_BENCH_REPS=N   score N times (default 3) and report the median.
#   SCORE_BENCH_STATE=DIR  keep the dataset in DIR and reuse it on the next run (generating
#                        10M probes takes minutes).
#   BENCH_KEEP=1         generate, then stop there with the cluster running (to iterate).
#   FLUXWATCH_REFERENCE_BUILD=DIR  also time the `fluxwatch score` of another build (e.g. main
#                        before a change) on the same data, first, and print the ratio.
# Output (parseable, one figure per line):
#   generated <P> probes, <A> answer sets, <S> shared parts for <D> domains in <S> s
#   reference copy: <S> s wall (median of N: ...)   binary COPY to /dev/null of the rows the
#                        scan reads (the packed sets of the window, then the probes), one
#                        connection after the other: reading the data, no processing
#   [reference score: <S> s wall (median of N: ...)]      with FLUXWATCH_REFERENCE_BUILD
#   fluxwatch score: <S> s wall (median of N: ...)   the whole process, start-up and last
#                        commit included
#   ratio score/copy: <X>   [ratio score/reference score: <Y>]
# each timed line followed by one line per run: wall time, peak RSS, load average before,
# and (`score -v`) the phases: sets, probes (second connection), features, classification;
# then the label counts and EXPLAIN ANALYZE of the main view queries.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
domains="${1:-100000}"
probes="${2:-100}"
reps="${SCORE_BENCH_REPS:-3}"
reference_build="${FLUXWATCH_REFERENCE_BUILD:-}"
[[ "$domains" =~ ^[0-9]+$ && "$probes" =~ ^[0-9]+$ ]] || { echo "usage: $0 [DOMAINS] [PROBES]" >&2; exit 2; }
bench_need_build
bench_need_tools time
bench_workdir scorebench "${SCORE_BENCH_STATE:-}"  # a kept dataset when SCORE_BENCH_STATE is set
[[ "${BENCH_KEEP:-}" != 1 ]] || trap - EXIT  # keep the data and the running cluster
# A kept dataset's cluster was stopped at the end of the last run.
[[ -z "${SCORE_BENCH_STATE:-}" ]] || "${fw[@]}" db start >/dev/null 2>&1 || true
ref=("$reference_build/app/fluxwatch" --state-dir "$work/state" -q)
if [[ -n "$reference_build" ]]; then
    "${ref[@]}" init >/dev/null  # the reference's schema; ours migrates it later
else
    "${fw[@]}" init >/dev/null
fi
dsn="$("${fw[@]}" db dsn)"
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 -v domains="$domains" -v probes="$probes" "$@"; }

have="$(psql_ -At -c "SELECT count(*) FROM watchlist")"
counts() { psql_ -At -c "SELECT (SELECT count(*) FROM observations) || ' probes, ' || (SELECT count(*) FROM answer_set_counters) || ' answer sets, ' || (SELECT count(*) FROM shared_parts) || ' shared parts'"; }
if [[ "$have" == "$domains" ]]; then
    echo "kept dataset in $work: $(counts) for $domains domains"
else
    [[ "$have" == 0 ]] || { echo "score-bench: $work holds another dataset ($have domains)" >&2; exit 1; }
    start=$(date +%s.%N)
    psql_ -f "$src/bench/lib/history.sql" >/dev/null
    psql_ -c "VACUUM ANALYZE"
    end=$(date +%s.%N)
    echo "generated $(counts) for $domains domains in $(secs "$start" "$end") s"
fi
if [[ "${BENCH_KEEP:-}" == 1 ]]; then
    echo "BENCH_KEEP=1: data left in $work (dsn: $dsn); stop with: ${fw[*]} db stop"
    exit 0
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# time_reps LABEL COMMAND...: runs COMMAND $reps times (stderr kept for its phases), prints
# "LABEL: <median> s wall (...)" and a line per run, and leaves the median in $med.
time_reps() {
    local label="$1" all="" runs="" start end load i
    shift
    for i in $(seq "$reps"); do
        load="$(cut -d ' ' -f 1 /proc/loadavg)"
        start=$(date +%s.%N)
        if [[ "$(type -t "$1")" == file ]]; then
            /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>"$work/stderr"
        else
            "$@" >/dev/null 2>"$work/stderr"  # a shell function (psql's own memory: not shown)
            echo 0 >"$work/rss"
        fi
        end=$(date +%s.%N)
        all+="$(secs "$start" "$end") "
        # `score -v` phases: "... in N ms" of each scoring step, as "; step N ms".
        runs+="  run $i: $(secs "$start" "$end") s, load $load"
        [[ "$(tail -n 1 "$work/rss")" == 0 ]] || runs+=", peak RSS $(( $(tail -n 1 "$work/rss") / 1024 )) MB"
        runs+="$({ grep -o 'scoring: .* in [0-9]* ms' "$work/stderr" || true; } | sed -E 's/scoring: ([0-9]+ )?([a-z]+).* in ([0-9]+) ms/; \2 \3 ms/' | tr -d '\n')"
        runs+="$({ grep -o 'classified and stored in [0-9]* ms' "$work/stderr" || true; } | sed -E 's/.* in ([0-9]+) ms/; classified+stored \1 ms/')"
        runs+=$'\n'
    done
    med="$(tr ' ' '\n' <<<"$all" | grep . | median)"
    echo "$label: $med s wall (median of $reps: ${all% })"
    printf '%s' "$runs"
}
# The reference: the rows the scan reads, as binary COPY to /dev/null, one after the other on
# one connection (the scan reads the two streams at once on two).
copy_scan_rows() {
    psql "$dsn" -X -q -o /dev/null -c "COPY (SELECT c.domain_id, c.answer_set_id, c.ttl, c.shared_id, c.shared_ttl_offset, c.rtypes, c.owners, c.ttl_offsets, c.address_ids, c.targets FROM answer_set_counters k JOIN answer_set_contents c USING (domain_id, answer_set_id)) TO STDOUT (FORMAT binary)" \
        -c "COPY (SELECT probe_id, domain_id, context_id, sent_at, answer_set_id, ttl, ttls FROM observations) TO STDOUT (FORMAT binary)"
}
time_reps "reference copy" copy_scan_rows
copy_s="$med"
if [[ -n "$reference_build" ]]; then
    time_reps "reference score" "${ref[@]}" -v score --format json
    ref_s="$med"
    "${fw[@]}" init >/dev/null  # applies our migrations before timing our score
fi
time_reps "fluxwatch score" "${fw_bin}" --state-dir "$work/state" -v score --format json
score_s="$med"
awk -v s="$score_s" -v c="$copy_s" -v r="${ref_s:-}" 'BEGIN {
    printf "ratio score/copy: %.2f", s / c
    if (r != "") printf "   ratio score/reference score: %.3f", s / r
    printf "\n" }'
psql_ -At -c "SELECT label, count(*) FROM latest_scores GROUP BY 1 ORDER BY 1"

echo "--- EXPLAIN ANALYZE: one domain's history (answers view)"
psql_ -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT sent_at, qtype, host(address), asn, country FROM answers WHERE domain = 'd4242.bench.test' ORDER BY sent_at"
echo "--- EXPLAIN ANALYZE: one address across domains (domain_addresses view)"
psql_ -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT domain, first_seen, last_seen, times_seen FROM domain_addresses WHERE address = '10.0.0.77'"
echo "--- EXPLAIN ANALYZE: newest score of one domain (latest_scores view)"
psql_ -c "EXPLAIN (ANALYZE, COSTS OFF) SELECT label, holz_score FROM latest_scores WHERE domain = 'd4242.bench.test'"
