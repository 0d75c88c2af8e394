#!/usr/bin/env bash
# score-bench.sh - `fluxwatch score` over DOMAINS x PROBES synthetic probes (docs/performance.md,
# "Scoring"), and EXPLAIN ANALYZE of the main view queries.
#   Data (bench/lib/history.sql: generated in SQL straight into today's tables, in the
#   fluxwatch-managed PostgreSQL of a temporary state directory): DOMAINS watched domains,
#   PROBES probes each, 10 minutes apart (every 10th an NS probe, the others A). 10% fast flux
#   (4 of 20,000 addresses in 400 ASNs per answer, TTL 30), 20% CDN-like (4 of 64 addresses
#   of one ASN, TTL 300), 70% stable (2 fixed addresses, TTL 3600). Every address is enriched.
# Usage: bench/score-bench.sh [DOMAINS] [PROBES]        (defaults 100000 100 = 10M probes)
# Needs a build (FLUXWATCH_BUILD_DIR, default build/). The cluster is stopped at the end.
#   SCORE_BENCH_REPS=N   score N times (default 3) and report the median.
#   FLUXWATCH_REFERENCE_BUILD=DIR  also time the `fluxwatch score` of another build (e.g. main
#                        before a change) on the same data, first, and print the ratio.
# Output (parseable, one figure per line):
#   generated <P> probes, <R> records for <D> domains in <S> s
#   reference copy: <S> s wall (median of N: ...)   COPY of every record to /dev/null
#   [reference score: <S> s wall (median of N: ...)]      with FLUXWATCH_REFERENCE_BUILD
#   fluxwatch score: <S> s wall (median of N: ...)
#   ratio score/copy: <X>   [ratio score/reference score: <Y>]
# then the label counts and EXPLAIN ANALYZE of the main view queries.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
domains="${1:-100000}"
probes="${2:-100}"
reps="${SCORE_BENCH_REPS:-3}"
reference_build="${FLUXWATCH_REFERENCE_BUILD:-}"
[[ "$domains" =~ ^[0-9]+$ && "$probes" =~ ^[0-9]+$ ]] || { echo "usage: $0 [DOMAINS] [PROBES]" >&2; exit 2; }
bench_need_build
bench_workdir scorebench
[[ "${BENCH_KEEP:-}" != 1 ]] || trap - EXIT  # keep the data and the running cluster
ref=("$reference_build/app/fluxwatch" --state-dir "$work/state" -q)
if [[ -n "$reference_build" ]]; then
    "${ref[@]}" init >/dev/null  # the reference's schema; ours migrates it later
else
    "${fw[@]}" init >/dev/null
fi
dsn="$("${fw[@]}" db dsn)"
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 -v domains="$domains" -v probes="$probes" "$@"; }

start=$(date +%s.%N)
psql_ <<'SQL'
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';
-- Schema 13 (migrations 0009, 0013): narrow observations referencing answer sets, whose
-- records are answer_set_entries and whose summary counters live in answer_sets. The
-- histories are those of earlier versions of this script: flux domains (d % 10 = 0) and
-- CDN-like ones (d % 10 < 3) answer a different set in each A probe, the others always the
-- same two addresses; every tenth probe is an NS probe with the same two names. Set ids are
-- arbitrary here (scoring joins on them, it does not recompute them): k for a probe's own
-- set, 0 for the stable A set, -1 for the NS set.
INSERT INTO watchlist (domain_id, domain, source) OVERRIDING SYSTEM VALUE
SELECT d, format('d%s.bench.test', d), 'score-bench' FROM generate_series(1, :domains) d
ON CONFLICT DO NOTHING;
SELECT fluxwatch_create_observation_partition(d::date)
FROM generate_series(now() - interval '3 days', now() + interval '1 day', interval '1 day') d;
INSERT INTO probe_contexts (resolver, mode, qtype, outcome, rcode, via_tcp, authoritative)
VALUES ('127.0.0.1:53', 'recursive', 'A', 'NOERROR', 0, false, false),
       ('127.0.0.1:53', 'recursive', 'NS', 'NOERROR', 0, false, false)
ON CONFLICT DO NOTHING;
INSERT INTO observations (domain_id, sent_at, probe_id, answer_set_id, ttl, context_id,
                          latency_us)
SELECT d, now() - interval '2 days' + k * interval '10 minutes', d::bigint * 1000 + k,
       CASE WHEN k % 10 = 0 THEN -1 WHEN d % 10 < 3 THEN k ELSE 0 END,
       CASE WHEN k % 10 = 0 THEN 3600 WHEN d % 10 = 0 THEN 30 WHEN d % 10 < 3 THEN 300 ELSE 3600 END,
       (SELECT context_id FROM probe_contexts WHERE resolver = '127.0.0.1:53' AND run_id IS NULL
          AND qtype = CASE WHEN k % 10 = 0 THEN 'NS' ELSE 'A' END),
       1000
FROM generate_series(1, :domains) d, generate_series(1, :probes) k;
-- A answer sets (owner NULL: the domain's own name).
INSERT INTO answer_set_entries (domain_id, answer_set_id, ttl_offset, ord, section, rtype,
                                address)
SELECT d, s.k, 0, j, 'a', 'A',
       CASE WHEN d % 10 = 0 THEN '10.0.0.0'::inet + ((d * 7919 + s.k * 104729 + j * 15485863) % 20000)
            WHEN d % 10 < 3 THEN '10.200.0.0'::inet + ((d % 100) * 64 + (s.k * 4 + j) % 64)
            ELSE '10.100.0.0'::inet + (d * 2 + j % 2) END
FROM generate_series(1, :domains) d
CROSS JOIN LATERAL (SELECT k FROM generate_series(1, :probes) k WHERE k % 10 <> 0 AND d % 10 < 3
                    UNION ALL SELECT 0 WHERE d % 10 >= 3) s
CROSS JOIN generate_series(0, 3) j
WHERE d % 10 < 3 OR j < 2;
-- NS answer sets: two names per domain.
INSERT INTO answer_set_entries (domain_id, answer_set_id, ttl_offset, ord, section, rtype,
                                target)
SELECT d, -1, 0, j - 1, 'a', 'NS', format('ns%s.d%s.bench.test', j, d)
FROM generate_series(1, :domains) d, generate_series(1, 2) j;
-- The sets with their summary counters (as the writer keeps them).
INSERT INTO answer_sets (domain_id, answer_set_id, digest_check, ttl_shape, first_seen,
                         last_seen, times_seen, min_ttl)
SELECT o.domain_id, o.answer_set_id, 0, 0, min(o.sent_at), max(o.sent_at), count(*), min(o.ttl)
FROM observations o GROUP BY o.domain_id, o.answer_set_id;
VACUUM ANALYZE;
SQL
end=$(date +%s.%N)
counts="$(psql_ -At -c "SELECT (SELECT count(*) FROM probes) || ' probes, ' || (SELECT count(*) FROM records) || ' records'")"
echo "generated $counts for $domains domains in $(secs "$start" "$end") s"
if [[ "${BENCH_KEEP:-}" == 1 ]]; then
    echo "BENCH_KEEP=1: data left in $work (dsn: $dsn); stop with: ${fw[*]} db stop"
    exit 0
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# time_reps LABEL COMMAND...: runs COMMAND $reps times, prints "LABEL: <median> s wall (...)"
# and leaves the median in $med.
time_reps() {
    local label="$1" all="" start end
    shift
    for _ in $(seq "$reps"); do
        start=$(date +%s.%N)
        "$@" >/dev/null
        end=$(date +%s.%N)
        all+="$(secs "$start" "$end") "
    done
    med="$(tr ' ' '\n' <<<"$all" | grep . | median)"
    echo "$label: $med s wall (median of $reps: ${all% })"
}
copy_records() { psql "$dsn" -X -q -c "COPY (SELECT probe_id, section, owner, rtype, ttl, address, target FROM records) TO STDOUT" >/dev/null; }  # (the records view: every record of every probe)
time_reps "reference copy" copy_records  # COPY of every record to /dev/null: reading the data
copy_s="$med"
if [[ -n "$reference_build" ]]; then
    time_reps "reference score" "${ref[@]}" score --format json
    ref_s="$med"
    "${fw[@]}" init >/dev/null  # applies our migrations before timing our score
fi
time_reps "fluxwatch score" "${fw[@]}" score --format json
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
