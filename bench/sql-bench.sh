#!/usr/bin/env bash
# sql-bench.sh - latency of the documented research queries (docs/queries.md) at scale, with
# EXPLAIN ANALYZE, against references measured in the same run (docs/performance.md,
# "Research queries at 50M answer rows").
#   Data (generated in SQL inside PostgreSQL, in the fluxwatch-managed cluster of a state
#   directory): DOMAINS watched domains probed in PROBES rounds 10 minutes apart, stored
#   round after round as the crawler would (time-major: one domain's probes are spread over
#   the whole table, not adjacent). Every 10th round asks NS (two names), the others A: 10%
#   fast flux (4 of 20,000 shared addresses in 400 ASNs per answer), 20% CDN-like (4 of 64
#   addresses of a customer group, shared by 1,000 domains), 70% two fixed addresses. Every
#   address is enriched; three score runs of every domain are stored.
#   Default 100000 x 200 = 20M probes and 50.8M answer rows.
# Usage: bench/sql-bench.sh [DOMAINS] [PROBES]
#   SQL_BENCH_STATE=DIR  keep the dataset in DIR and reuse it on the next run (generation of
#                        50M rows takes minutes); the cluster is stopped at the end either way.
#   SQL_BENCH_REPS=N     repetitions per query (default 7); the median is reported.
# Output: one line per query, parseable:
#   query=<name> first_ms=<first run> median_ms=<median of the others> ratio=<median/ref>
# where ref is the median of `probe-pk` (one primary-key lookup of probes) in the same run;
# then the plan of the last repetition of each query (EXPLAIN ANALYZE, BUFFERS).
# Needs a build (FLUXWATCH_BUILD_DIR, default build/).
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FLUXWATCH_BUILD_DIR:-$src/build}"
domains="${1:-100000}"
probes="${2:-200}"
reps="${SQL_BENCH_REPS:-7}"
[[ "$domains" =~ ^[0-9]+$ && "$probes" =~ ^[0-9]+$ && "$reps" =~ ^[0-9]+$ && "$reps" -ge 2 ]] \
    || { echo "usage: $0 [DOMAINS] [PROBES]  (SQL_BENCH_REPS >= 2)" >&2; exit 2; }
if [[ -n "${SQL_BENCH_STATE:-}" ]]; then
    work="$SQL_BENCH_STATE"
    mkdir -p "$work"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/fluxwatch-sqlbench.XXXXXX")"
fi
chmod 755 "$work"
fw=("$build/app/fluxwatch" --state-dir "$work/state" -q)
cleanup() {
    "${fw[@]}" db stop >/dev/null 2>&1 || true
    [[ -n "${SQL_BENCH_STATE:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT
"${fw[@]}" init >/dev/null  # starts the cluster and applies pending migrations
dsn="$("${fw[@]}" db dsn)"
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 -v domains="$domains" -v probes="$probes" "$@"; }
secs() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.1f", e - s }'; }

have="$(psql_ -At -c "SELECT count(*) FROM watchlist")"
if [[ "$have" != "$domains" ]]; then
    [[ "$have" == 0 ]] || { echo "sql-bench: $work holds another dataset ($have domains)" >&2; exit 1; }
    start=$(date +%s.%N)
    psql_ <<'SQL'
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
INSERT INTO watchlist (domain, source)
SELECT format('d%s.bench.test', d), 'bench' FROM generate_series(1, :domains) d;
INSERT INTO geo_builds (tag) VALUES ('bench');
INSERT INTO address_geo (address, geo_build_id, asn, as_org, country, latitude, longitude)
SELECT '10.0.0.0'::inet + i, 1, 64512 + i % 400, 'flux', chr(65 + i % 20) || chr(65 + i % 40 / 20),
       -60 + i % 120, -180 + (i * 7) % 360
FROM generate_series(0, 19999) i;
INSERT INTO address_geo (address, geo_build_id, asn, as_org, country, latitude, longitude)
SELECT '10.200.0.0'::inet + i, 1, 65000 + i / 64, 'cdn', 'US', 40, -74 + i % 8
FROM generate_series(0, 64 * 100 - 1) i;
INSERT INTO address_geo (address, geo_build_id, asn, as_org, country, latitude, longitude)
SELECT '10.100.0.0'::inet + i, 1, 65500 + i % 10, 'hoster', 'DE', 50, 8
FROM generate_series(0, 2 * :domains + 1) i;
-- Load without secondary indexes, then build them (as a bulk load would).
-- (whichever secondary indexes the migrations made: saved here, rebuilt after the load)
CREATE TEMP TABLE bench_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename IN ('probes', 'records') AND indexname NOT LIKE '%_pkey';
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT * FROM bench_indexes LOOP EXECUTE format('DROP INDEX %I', i.indexname); END LOOP;
END $$;
-- (no foreign keys on the write path since migration 0008; IF EXISTS for older schemas)
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_probe_id_fkey;
-- Round k of domain d is probe (k - 1) * domains + d: ids grow with time, like the writer's.
INSERT INTO probes (probe_id, domain_id, qname, qtype, resolver, sent_at, latency_us, outcome,
                    rcode, via_tcp)
SELECT (k - 1)::bigint * :domains + d, d, format('d%s.bench.test', d),
       CASE WHEN k % 10 = 0 THEN 'NS' ELSE 'A' END, '127.0.0.1:53',
       now() - (:probes + 1) * interval '10 minutes' + k * interval '10 minutes'
         + d * interval '1 millisecond', 1000, 'NOERROR', 0, false
FROM generate_series(1, :probes) k, generate_series(1, :domains) d;
INSERT INTO records (probe_id, section, owner, rtype, ttl, address)
SELECT (k - 1)::bigint * :domains + d, 'answer', format('d%s.bench.test', d), 'A',
       CASE WHEN d % 10 = 0 THEN 30 WHEN d % 10 < 3 THEN 300 ELSE 3600 END,
       CASE WHEN d % 10 = 0 THEN '10.0.0.0'::inet + ((d * 7919 + k * 104729 + j * 15485863) % 20000)
            WHEN d % 10 < 3 THEN '10.200.0.0'::inet + ((d % 100) * 64 + (k * 4 + j) % 64)
            ELSE '10.100.0.0'::inet + (d * 2 + j % 2) END
FROM generate_series(1, :probes) k, generate_series(1, :domains) d, generate_series(0, 3) j
WHERE k % 10 <> 0 AND (d % 10 < 3 OR j < 2);
INSERT INTO records (probe_id, section, owner, rtype, ttl, target)
SELECT (k - 1)::bigint * :domains + d, 'answer', format('d%s.bench.test', d), 'NS', 3600,
       format('ns%s.d%s.bench.test', j, d)
FROM generate_series(1, :probes) k, generate_series(1, :domains) d, generate_series(1, 2) j
WHERE k % 10 = 0;
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT * FROM bench_indexes LOOP EXECUTE i.indexdef; END LOOP;
END $$;
-- Three score runs of every domain (the label is what the generator made it).
INSERT INTO score_runs (computed_at, window_end, domains)
SELECT now() - (3 - r) * interval '1 day', now() - (3 - r) * interval '1 day', :domains
FROM generate_series(0, 2) r;
INSERT INTO domain_scores (score_run_id, domain_id, label, holz_score, holz_flux, probes,
                           address_probes, answered_lookups, max_answer_size, ipv4_addresses,
                           ipv6_addresses, asns, ipv4_asns, countries, prefixes, ns_names,
                           ns_addresses, ns_asns)
SELECT r.score_run_id, d,
       CASE WHEN d % 10 = 0 THEN 'fast_flux' WHEN d % 10 < 3 THEN 'cdn_like' ELSE 'round_robin' END,
       CASE WHEN d % 10 = 0 THEN 7000 ELSE -100 END, d % 10 = 0, :probes, :probes, :probes, 4,
       4, 0, 1, 1, 1, 1, 2, 0, 0
FROM score_runs r, generate_series(1, :domains) d;
SQL
    psql_ -c "VACUUM ANALYZE"
    end=$(date +%s.%N)
    echo "generated in $(secs "$start" "$end") s"
fi
psql_ -At -F ' ' -c "SELECT 'dataset:', (SELECT count(*) FROM probes) || ' probes', (SELECT count(*) FROM records WHERE section = 'answer') || ' answer rows', pg_size_pretty(pg_database_size(current_database()))"
psql_ -At -F ' ' -c "SELECT 'bytes_per_probe=' || round(pg_total_relation_size('probes')::numeric / (SELECT count(*) FROM probes), 1), 'bytes_per_record=' || round(pg_total_relation_size('records')::numeric / (SELECT count(*) FROM records), 1), 'probes_total=' || pg_total_relation_size('probes'), 'records_total=' || pg_total_relation_size('records')"
psql_ -At -F ' ' -c "SELECT 'schema: migration', max(version) FROM schema_migrations"

# A flux domain (4 addresses per answer: the largest history) and one of its addresses.
domain="d$(( (domains / 2) / 10 * 10 )).bench.test"
probe_id="$(( domains * (probes / 2) + 7 ))"
address="10.0.0.77"
declare -A queries=(
  [probe-pk]="SELECT * FROM probes WHERE probe_id = $probe_id"
  [domain-probes-index]="SELECT p.probe_id, p.sent_at FROM probes p JOIN watchlist w USING (domain_id) WHERE w.domain = '$domain'"
  [answers-history]="SELECT sent_at, qtype, host(address), asn, country FROM answers WHERE domain = '$domain' ORDER BY sent_at"
  [domain-history]="SELECT probe_id, sent_at, qtype, outcome, array_agg(host(address) ORDER BY address) AS addresses, min(ttl) AS ttl FROM answers WHERE domain = '$domain' AND rtype = qtype AND rtype IN ('A', 'AAAA') GROUP BY probe_id, sent_at, qtype, outcome ORDER BY sent_at, probe_id"
  [domains-of-address]="SELECT domain, first_seen, last_seen, times_seen FROM domain_addresses WHERE address = '$address' ORDER BY domain"
  [latest-score-of-domain]="SELECT label, holz_score FROM latest_scores WHERE domain = '$domain'"
  [score-over-time]="SELECT score_run_id, computed_at, window_end, label, holz_score, ipv4_addresses, ipv4_asns FROM score_history WHERE domain = '$domain' ORDER BY score_run_id"
)
order=(probe-pk domain-probes-index answers-history domain-history domains-of-address
       latest-score-of-domain score-over-time)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
plans="$work/plans.txt"
: > "$plans"
declare -A med
for name in "${order[@]}"; do
    sql="${queries[$name]}"
    # All repetitions in one session: the first pays for cold buffers, the rest are warm.
    out="$(for _ in $(seq "$reps"); do echo "EXPLAIN (ANALYZE, BUFFERS) $sql;"; done | psql_ -At)"
    times="$(grep -o 'Execution Time: [0-9.]*' <<<"$out" | awk '{ print $3 }')"
    first="$(head -1 <<<"$times")"
    med[$name]="$(tail -n +2 <<<"$times" | median)"
    ratio="$(awk -v m="${med[$name]}" -v r="${med[probe-pk]}" 'BEGIN { printf "%.1f", m / r }')"
    echo "query=$name first_ms=$first median_ms=${med[$name]} ratio=$ratio"
    { echo "--- $name: $sql"
      awk -v n="$reps" '{ if (c == n - 1) print } /^Execution Time/ { c++ }' <<<"$out"; } >> "$plans"
done
echo "--- plans of the last repetition:"
cat "$plans"
