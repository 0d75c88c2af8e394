#!/usr/bin/env bash
# sql-bench.sh - latency of the documented research queries (docs/queries.md) at scale, with
# EXPLAIN ANALYZE, against references measured in the same run (docs/performance.md,
# "Research queries at 50M answer rows").
#   Data (bench/lib/history.sql, the one generator of the bench scripts: generated in SQL
#   straight into today's tables, observations, probe runs and contexts, answer sets with their
#   counters and records, in the fluxwatch-managed cluster of a state directory): DOMAINS
#   watched domains probed in PROBES rounds 10 minutes apart, stored round after round as the
#   crawler would (time-major: one domain's probes are spread over the whole table, not
#   adjacent). Every 10th round asks NS (two names with glue), the others A: 10% fast flux (4
#   of 20,000 shared addresses in 400 ASNs, a new set each round), 20% CDN-like (4 of 64
#   addresses of a customer group shared by 1,000 domains, 16 sets), 70% two fixed
#   addresses. Every address is enriched; three score runs of every domain are stored.
#   Default 100000 x 200 = 20M probes.
# Usage: bench/sql-bench.sh [DOMAINS] [PROBES]
#   SQL_BENCH_STATE=DIR  keep the dataset in DIR and reuse it on the next run (generation of
#                        50M rows takes minutes); the cluster is stopped at the end either way.
#   SQL_BENCH_REPS=N     repetitions per query (default 7); the median is reported.
#   SQL_BENCH_REPORT=1   also time `fluxwatch report --format csv` as a whole process (every
#                        domain's summary), beside one `count(*)` pass over the probes in the
#                        same run: report_s=<seconds> reference_s=<seconds> ratio=<report/ref>.
# Output: one line per query, parseable:
#   query=<name> first_ms=<first run> median_ms=<median of the others> ratio=<median/ref>
#   plan_ms=<median planning time of the others>
# where the times are EXPLAIN ANALYZE's execution time (planning is apart: a user waits for
# both) and ref is the median of `probe-latest` (one domain's newest observation: one index
# probe) in the same run;
# then the plan of the last repetition of each query (EXPLAIN ANALYZE, BUFFERS).
# Needs a build (FLUXWATCH_BUILD_DIR, default build/).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
domains="${1:-100000}"
probes="${2:-200}"
reps="${SQL_BENCH_REPS:-7}"
[[ "$domains" =~ ^[0-9]+$ && "$probes" =~ ^[0-9]+$ && "$reps" =~ ^[0-9]+$ && "$reps" -ge 2 ]] \
    || { echo "usage: $0 [DOMAINS] [PROBES]  (SQL_BENCH_REPS >= 2)" >&2; exit 2; }
bench_need_build
bench_workdir sqlbench "${SQL_BENCH_STATE:-}"   # a kept dataset when SQL_BENCH_STATE is set
# A kept dataset's cluster was stopped with `db stop` at the end of the last run, and stays
# stopped until `db start`.
[[ -z "${SQL_BENCH_STATE:-}" ]] || "${fw[@]}" db start >/dev/null 2>&1 || true
"${fw[@]}" init >/dev/null  # starts the cluster and applies pending migrations
dsn="$("${fw[@]}" db dsn)"
psql_() { psql "$dsn" -X -q -v ON_ERROR_STOP=1 -v domains="$domains" -v probes="$probes" "$@"; }

have="$(psql_ -At -c "SELECT count(*) FROM watchlist")"
if [[ "$have" != "$domains" ]]; then
    [[ "$have" == 0 ]] || { echo "sql-bench: $work holds another dataset ($have domains)" >&2; exit 1; }
    start=$(date +%s.%N)
    psql_ -f "$src/bench/lib/history.sql" >/dev/null
    psql_ -c "VACUUM ANALYZE"
    end=$(date +%s.%N)
    echo "generated in $(secs "$start" "$end") s"
fi
psql_ -At -F ' ' -c "SELECT 'dataset:', (SELECT count(*) FROM observations) || ' probes', (SELECT count(*) FROM answer_set_counters) || ' answer sets', (SELECT count(*) FROM shared_parts) || ' shared parts', (SELECT count(*) FROM addresses) || ' addresses', pg_size_pretty(pg_database_size(current_database()))"
# Every table of the probe history with its indexes and TOAST (partitions included).
psql_ -At -F ' ' -c "WITH t(name) AS (SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname IN ('observations', 'probe_contexts', 'probe_runs', 'answer_sets', 'answer_set_entries', 'answer_set_contents', 'answer_set_counters', 'shared_parts', 'addresses')),
  sizes AS (SELECT t.name, coalesce((SELECT sum(pg_total_relation_size(p.relid)) FROM pg_partition_tree(t.name::regclass) p), pg_total_relation_size(t.name::regclass)) AS bytes FROM t)
SELECT 'bytes_per_probe=' || round(sum(bytes) / (SELECT count(*) FROM observations), 1), string_agg(name || '_total=' || bytes, ' ') FROM sizes"
psql_ -At -F ' ' -c "SELECT 'schema: migration', max(version) FROM schema_migrations"

# A flux domain (4 addresses per answer: the largest history) and one of its addresses.
domain="d$(( (domains / 2) / 10 * 10 )).bench.test"
domain_id="$(( (domains / 2) / 10 * 10 ))"
address="10.0.0.77"
declare -A queries=(
  [probe-latest]="SELECT * FROM observations WHERE domain_id = $domain_id ORDER BY sent_at DESC LIMIT 1"
  [domain-probes-index]="SELECT p.probe_id, p.sent_at FROM probes p JOIN watchlist w USING (domain_id) WHERE w.domain = '$domain'"
  [answers-history]="SELECT sent_at, qtype, host(address), asn, country FROM answers WHERE domain = '$domain' ORDER BY sent_at"
  [domain-history]="SELECT probe_id, sent_at, qtype, outcome, array_agg(host(address) ORDER BY address) AS addresses, min(ttl) AS ttl FROM answers WHERE domain = '$domain' AND rtype = qtype AND rtype IN ('A', 'AAAA') GROUP BY probe_id, sent_at, qtype, outcome ORDER BY sent_at, probe_id"
  [domains-of-address]="SELECT domain, first_seen, last_seen, times_seen FROM domain_addresses WHERE address = '$address' ORDER BY domain"
  [latest-score-of-domain]="SELECT label, holz_score FROM latest_scores WHERE domain = '$domain'"
  [score-over-time]="SELECT score_run_id, computed_at, window_end, label, holz_score, ipv4_addresses, ipv4_asns FROM score_history WHERE domain = '$domain' ORDER BY score_run_id"
)
order=(probe-latest domain-probes-index answers-history domain-history domains-of-address
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
    planning="$(grep -o 'Planning Time: [0-9.]*' <<<"$out" | awk '{ print $3 }' | tail -n +2 | median)"
    first="$(head -1 <<<"$times")"
    med[$name]="$(tail -n +2 <<<"$times" | median)"
    ratio="$(awk -v m="${med[$name]}" -v r="${med[probe-latest]}" 'BEGIN { printf "%.1f", m / r }')"
    echo "query=$name first_ms=$first median_ms=${med[$name]} ratio=$ratio plan_ms=$planning"
    { echo "--- $name: $sql"
      awk -v n="$reps" '{ if (c == n - 1) print } /^Execution Time/ { c++ }' <<<"$out"; } >> "$plans"
done
if [[ "${SQL_BENCH_REPORT:-0}" == 1 ]]; then
    start=$(now)
    psql_ -At -c "SELECT count(*) FROM observations" >/dev/null
    reference=$(secs "$start" "$(now)")
    start=$(now)
    "${fw[@]}" report --format csv >/dev/null
    report=$(secs "$start" "$(now)")
    echo "report_s=$report reference_s=$reference ratio=$(ratio "$report" "$reference")"
fi
echo "--- plans of the last repetition:"
cat "$plans"
