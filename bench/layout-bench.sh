#!/usr/bin/env bash
# layout-bench.sh - what storing one probed name costs in PostgreSQL, per schema layout and
# server setting (issue 6: "what bounds end to end"; docs/scaling.md, "What bounds end to end
# on one machine"). Everything is psql COPY in one script run, so the figures compare.
#
#   Data: NAMES names shaped like nsd's answers in bench/run.sh (bench/ingest_bench.cc
#   make_result): 1 probe + 1..5 A answers + nsd's NS (authority) + its glue A (additional),
#   5 records per name on average, generated in SQL and exported to files once. Each run
#   TRUNCATEs, then loads them with \copy in transactions of 5,000 names (probe.batch_size),
#   probes then records, like storage::Database::store.
#   Layouts (one database each, all in one hand-started PostgreSQL 15 on a Unix socket):
#     a          the current schema (storage/migrations/*.sql applied in order)
#     b          a without records_address_idx and records_ns_cname_target_idx; b-addr, b-ns
#                without one of them; b-answer: records_address_idx of answers only
#     c-*        a under other server settings (restart per setting, see `configs` below)
#     d          compact: one row per probe, records as arrays + addresses inet[] (GIN),
#                `records` a view doing unnest (answers/domain_addresses unchanged on top);
#                timed with the merge of the GIN pending list at the end
#     d-lean     d with type codes (smallint[]) and the addresses stored once, as a parallel
#                inet[] (GIN) instead of as text too
#     e-noidx    a with no index at all while loading (a day partition before its close)
#     e-build    e-noidx plus building all six indexes afterwards (cost per name)
#     e-brin     a with BRIN instead of B-tree for the insert-ordered keys
#                (records_probe_idx, probes_run_idx)
#   Then, unless QUERY_DOMAINS is 0: QUERY_DOMAINS x QUERY_ROUNDS probes stored round after
#   round in layouts a and d, and the latency (EXPLAIN ANALYZE, median of 7) of the documented
#   research queries (docs/queries.md: domain-history, domains-of-address), whose results
#   must be equal in both layouts.
# Usage: bench/layout-bench.sh [NAMES] [REPEATS]      (defaults 100000 3)
#   LAYOUT_BENCH_ONLY=a,d,...   only these layouts (a is always measured: the reference)
#   QUERY_DOMAINS / QUERY_ROUNDS  query dataset (default 20000 x 100 = 2M probes; 0 skips)
#   LAYOUT_BENCH_PG_PORT        the socket's port number (default 5440; the server listens on
#                               no TCP address, only on a socket in the work directory)
#   --keep (first argument)     keep the work directory
# Output: one line per run (layout=... names_per_s=... server_cpu_us_per_name=...), then one
#   table: layout, names/s, rows/s, ratio to a (wall time), the cluster's CPU time per name
#   and its ratio to a's (robust against other sessions' load), WAL and stored bytes per name;
#   medians of REPEATS.
# Needs: PostgreSQL 15 server programs and psql (deploy/install-deps). Runs as `postgres`
# when started as root.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
me="layout-bench.sh"
keep=0
[[ "${1:-}" == --keep ]] && { keep=1; shift; }
names="${1:-100000}"
repeats="${2:-3}"
qdomains="${QUERY_DOMAINS:-20000}"
qrounds="${QUERY_ROUNDS:-100}"
port="${LAYOUT_BENCH_PG_PORT:-5440}"
batch=5000
for n in "$names" "$repeats" "$qdomains" "$qrounds" "$port"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "$me: '$n' is not a number" >&2; exit 2; }
done
[[ "$names" -ge 1 && "$repeats" -ge 1 ]] || { echo "usage: $me [--keep] [NAMES] [REPEATS]" >&2; exit 2; }

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -x "$bindir/pg_ctl" ]] && command -v psql >/dev/null ||
    { echo "$me: PostgreSQL server programs or psql missing: run deploy/install-deps" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/fluxwatch-layout.XXXXXX")"
chmod 755 "$work"
as_pg=()
if [[ "$(id -u)" == 0 ]]; then
    as_pg=(runuser -u postgres --)
    chown postgres: "$work"
fi
pgdata="$work/data"
pg_ctl_() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$work/server.log" "$@" >>"$work/pg_ctl.log" 2>&1; }
cleanup() {
    pg_ctl_ stop -m fast || true
    if [[ "$keep" == 1 ]]; then echo "$me: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
log() { [[ -t 2 ]] && printf '%s: %s\n' "$me" "$*" >&2 || true; }
now() { date +%s.%N; }
# tree_seconds ROOT_PID: CPU seconds of a process tree (bench/lib/cpu.sh).
source "$src/bench/lib/cpu.sh"
# CPU seconds used so far by the cluster: the postmaster and every process under it, each with
# the children it has reaped (the backends of finished psql sessions). Less sensitive to other
# sessions' load on a shared machine than wall time.
cpu_seconds() { tree_seconds "$(head -n 1 "$pgdata/postmaster.pid")"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- the server and its settings -------------------------------------------------------------
# The defaults are what the fluxwatch-managed cluster ran with before this benchmark (PostgreSQL
# 15's own). Each other setting changes one thing, then all together.
declare -A configs=(
    [default]=""
    [sync-off]="-c synchronous_commit=off"
    [wal-size]="-c max_wal_size=8GB -c checkpoint_timeout=30min"
    [wal-lz4]="-c wal_compression=lz4"
    [buffers]="-c shared_buffers=1GB -c wal_buffers=64MB"
    [durable-all]="-c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_compression=lz4 -c shared_buffers=1GB -c wal_buffers=64MB"
    [all]="-c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_compression=lz4 -c shared_buffers=1GB -c wal_buffers=64MB -c synchronous_commit=off"
)
running_config=""
start_server() {   # start_server CONFIG
    [[ "$running_config" == "$1" ]] && return 0
    [[ -z "$running_config" ]] || pg_ctl_ stop -m fast
    pg_ctl_ start -w -t 60 -o "-c listen_addresses='' -c unix_socket_directories='$work' -p $port -c maintenance_work_mem=1GB ${configs[$1]}" ||
        { echo "$me: PostgreSQL did not start:" >&2; tail "$work/server.log" "$work/pg_ctl.log" >&2; exit 1; }
    running_config="$1"
}
"${as_pg[@]}" "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 ||
    { echo "$me: initdb failed:" >&2; tail "$work/initdb.log" >&2; exit 1; }
start_server default
psql_() { local db="$1"; shift; PGOPTIONS="-c client_min_messages=warning" psql -h "$work" -p "$port" -U postgres -d "$db" -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- the schemas -----------------------------------------------------------------------------
log "applying storage/migrations/*.sql"
psql_ postgres -c "CREATE DATABASE fw_template"
for f in "$src"/storage/migrations/*.sql; do
    psql_ fw_template -f "$f" >/dev/null   # autocommit: 0005 adds an enum value on its own
done
psql_ fw_template -c "CREATE TABLE bench_views AS SELECT c.oid::bigint AS o, c.relname::text AS name, pg_get_viewdef(c.oid) AS def
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'"
probe_cols="probe_id, run_id, domain_id, qname, qtype, resolver, sent_at, latency_us, outcome, rcode, via_tcp, detail, authoritative, due_at, campaign, vantage, mode, server_name"
record_cols="probe_id, section, owner, rtype, ttl, address, target"
array_cols="rr_section, rr_owner, rr_type, rr_ttl, rr_data, addresses"

# The compact layout, applied to a copy of the current schema: probes gains the records as
# parallel arrays (owner NULL = the probe's qname, the usual case), the records table becomes
# a view with the same columns, and every view over records (answers, domain_addresses, ...)
# is recreated from its definition in the current schema, unchanged.
compact_sql() {
    cat <<'SQL'
DO $$ DECLARE v record; BEGIN
  FOR v IN SELECT name FROM bench_views LOOP EXECUTE format('DROP VIEW IF EXISTS %I CASCADE', v.name); END LOOP;
END $$;
DROP TABLE records;
SQL
    if [[ "${1:-}" == lean ]]; then
        # Leaner: type codes, and addresses kept once (a parallel inet[] with NULLs for the
        # other records, GIN-indexed), targets only in rr_data.
        cat <<'SQL'
ALTER TABLE probes
  ADD COLUMN rr_section smallint[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_owner   text[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_type    smallint[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_ttl     bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_data    text[] NOT NULL DEFAULT '{}',
  ADD COLUMN addresses  inet[] NOT NULL DEFAULT '{}';
CREATE INDEX probes_addresses_gin ON probes USING gin (addresses);
CREATE VIEW records AS
SELECT p.probe_id,
       (ARRAY['answer', 'authority', 'additional'])[u.s + 1] AS section,
       coalesce(u.o, p.qname) AS owner,
       CASE u.t WHEN 1 THEN 'A' WHEN 28 THEN 'AAAA' WHEN 2 THEN 'NS' WHEN 5 THEN 'CNAME'
                WHEN 6 THEN 'SOA' ELSE 'TYPE' || u.t END AS rtype,
       u.ttl, u.a AS address, u.d AS target
FROM probes p
CROSS JOIN LATERAL unnest(p.rr_section, p.rr_owner, p.rr_type, p.rr_ttl, p.rr_data, p.addresses)
  AS u(s, o, t, ttl, d, a);
SQL
    else
        cat <<'SQL'
ALTER TABLE probes
  ADD COLUMN rr_section smallint[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_owner   text[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_type    text[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_ttl     bigint[] NOT NULL DEFAULT '{}',
  ADD COLUMN rr_data    text[] NOT NULL DEFAULT '{}',
  ADD COLUMN addresses  inet[] NOT NULL DEFAULT '{}';
CREATE INDEX probes_addresses_gin ON probes USING gin (addresses);
CREATE VIEW records AS
SELECT p.probe_id,
       (ARRAY['answer', 'authority', 'additional'])[u.s + 1] AS section,
       coalesce(u.o, p.qname) AS owner, u.t AS rtype, u.ttl,
       CASE WHEN u.t IN ('A', 'AAAA') THEN u.d::inet END AS address,
       CASE WHEN u.t NOT IN ('A', 'AAAA') THEN u.d END AS target
FROM probes p
CROSS JOIN LATERAL unnest(p.rr_section, p.rr_owner, p.rr_type, p.rr_ttl, p.rr_data)
  AS u(s, o, t, ttl, d);
SQL
    fi
    cat <<'SQL'
-- Every view of the current schema again, from its stored definition (views over views:
-- retried until all exist).
DO $$ DECLARE v record; made int; pending int; BEGIN
  LOOP
    made := 0; pending := 0;
    FOR v IN SELECT * FROM bench_views b WHERE to_regclass(b.name) IS NULL ORDER BY o LOOP
      BEGIN
        EXECUTE format('CREATE VIEW %I AS %s', v.name, rtrim(v.def, E'; \n'));
        made := made + 1;
      EXCEPTION WHEN others THEN pending := pending + 1;
      END;
    END LOOP;
    EXIT WHEN pending = 0;
    IF made = 0 THEN
      RAISE EXCEPTION 'views the compact layout cannot recreate: %',
        (SELECT string_agg(name, ', ') FROM bench_views b WHERE to_regclass(b.name) IS NULL);
    END IF;
  END LOOP;
END $$;
SQL
}
# Exported rows of the current layout -> the compact layout's probes rows (same probes).
compact_columns() {   # compact_columns [lean]: the arrays t, ttl, d, a of compact_select
    if [[ "${1:-}" == lean ]]; then
        echo "array_agg(CASE r.rtype WHEN 'A' THEN 1 WHEN 'AAAA' THEN 28 WHEN 'NS' THEN 2 WHEN 'CNAME' THEN 5
                 WHEN 'SOA' THEN 6 ELSE substr(r.rtype, 5)::int END::smallint ORDER BY r.ord) AS t,
         array_agg(r.ttl ORDER BY r.ord) AS ttl, array_agg(r.target ORDER BY r.ord) AS d,
         array_agg(r.address ORDER BY r.ord) AS a"
    else
        echo "array_agg(r.rtype ORDER BY r.ord) AS t, array_agg(r.ttl ORDER BY r.ord) AS ttl,
         array_agg(coalesce(host(r.address), r.target) ORDER BY r.ord) AS d,
         array_agg(DISTINCT r.address) FILTER (WHERE r.address IS NOT NULL) AS a"
    fi
}
compact_select() {   # compact_select PROBES RECORDS [lean]
    cat <<SQL
SELECT p.*, coalesce(r.s, '{}'), coalesce(r.o, '{}'), coalesce(r.t, '{}'), coalesce(r.ttl, '{}'),
       coalesce(r.d, '{}'), coalesce(r.a, '{}')
FROM $1 p
LEFT JOIN (
  SELECT r.probe_id,
         array_agg(CASE r.section WHEN 'answer' THEN 0 WHEN 'authority' THEN 1 ELSE 2 END ORDER BY r.ord) AS s,
         array_agg(CASE WHEN r.owner = q.qname THEN NULL ELSE r.owner END ORDER BY r.ord) AS o,
         $(compact_columns "${3:-}")
  FROM (SELECT r.*, row_number() OVER () AS ord FROM $2 r) r JOIN $1 q USING (probe_id)
  GROUP BY r.probe_id
) r USING (probe_id)
SQL
}

secondary_indexes="'probes_domain_sent_idx', 'probes_run_idx', 'records_probe_idx', 'records_address_idx', 'records_ns_cname_target_idx'"
setup_layout() {   # setup_layout LAYOUT: creates its database
    local db="l_${1//-/_}"
    psql_ postgres -c "CREATE DATABASE $db TEMPLATE fw_template"
    case "$1" in
        b) psql_ "$db" -c "DROP INDEX records_address_idx, records_ns_cname_target_idx" ;;
        b-addr) psql_ "$db" -c "DROP INDEX records_address_idx" ;;
        b-ns) psql_ "$db" -c "DROP INDEX records_ns_cname_target_idx" ;;
        b-answer) psql_ "$db" -c "DROP INDEX records_address_idx" \
                      -c "CREATE INDEX records_address_idx ON records (address) WHERE address IS NOT NULL AND section = 'answer'" ;;
        d) compact_sql | psql_ "$db" >/dev/null ;;
        d-lean) compact_sql lean | psql_ "$db" >/dev/null ;;
        e-noidx | e-build)
            # Saved, to be rebuilt after the load by e-build.
            psql_ "$db" -c "CREATE TABLE bench_indexes AS SELECT indexname, indexdef FROM pg_indexes
                            WHERE schemaname = 'public' AND tablename IN ('probes', 'records')"
            psql_ "$db" -c "ALTER TABLE probes DROP CONSTRAINT probes_pkey" \
                -c "DROP INDEX probes_domain_sent_idx, probes_run_idx, records_probe_idx, records_address_idx, records_ns_cname_target_idx" ;;
        e-brin) psql_ "$db" -c "DROP INDEX records_probe_idx, probes_run_idx" \
                    -c "CREATE INDEX records_probe_idx ON records USING brin (probe_id)" \
                    -c "CREATE INDEX probes_run_idx ON probes USING brin (run_id)" ;;
    esac
}

# --- the data --------------------------------------------------------------------------------
log "generating $names names' rows"
psql_ fw_template -v names="$names" <<'SQL'
CREATE TABLE gen_probes (LIKE probes);
CREATE TABLE gen_records (LIKE records);
INSERT INTO gen_probes (probe_id, run_id, domain_id, qname, qtype, resolver, sent_at, latency_us,
                        outcome, rcode, via_tcp, authoritative, mode)
SELECT i + 1, 1, i + 1, format('n%s.bench.test', lpad(i::text, 7, '0')), 'A', '127.0.0.1:5390',
       timestamptz '2026-11-22 12:00:00+00' + i * interval '30 microseconds', 300 + i % 700,
       'NOERROR', 0, false, true, 'recursive'
FROM generate_series(0, :names - 1) i;
-- In the order of the writer: per probe its answers, authority, additional.
INSERT INTO gen_records
SELECT i + 1, x.* FROM generate_series(0, :names - 1) i
CROSS JOIN LATERAL (
  SELECT 'answer', format('n%s.bench.test', lpad(i::text, 7, '0')), 'A', 30,
         '127.64.0.0'::inet + (256 * (1 + ((i * 7 + k * 1013) % 6096) / 254) + 1 + ((i * 7 + k * 1013) % 6096) % 254),
         NULL
  FROM generate_series(0, i % 5) k
  UNION ALL SELECT 'authority', 'bench.test', 'NS', 3600, NULL, 'ns.bench.test'
  UNION ALL SELECT 'additional', 'ns.bench.test', 'A', 3600, '127.0.0.1', NULL
) x;
SQL
psql_ fw_template -c "\\copy (SELECT $probe_cols FROM gen_probes ORDER BY probe_id) TO '$work/probes.copy'" \
    -c "\\copy (SELECT $record_cols FROM gen_records) TO '$work/records.copy'" \
    -c "SET work_mem = '256MB'" -c "\\copy ($(compact_select gen_probes gen_records) ORDER BY probe_id) TO '$work/compact.copy'" \
    -c "\\copy ($(compact_select gen_probes gen_records lean) ORDER BY probe_id) TO '$work/lean.copy'" \
    -c "DROP TABLE gen_probes, gen_records"
rows_per_run=$(( names + $(wc -l <"$work/records.copy") ))
mkdir "$work/chunks"
for kind in probes records compact lean; do
    awk -F'\t' -v b="$batch" -v out="$work/chunks/$kind." '{ print > (out sprintf("%06d", int(($1 - 1) / b))) }' "$work/$kind.copy"
done
chunks=$(( (names + batch - 1) / batch ))
# One psql script per kind of layout: one transaction per 5,000 names.
for kind in plain compact lean; do
    for ((c = 0; c < chunks; c++)); do
        id="$(printf '%06d' "$c")"
        echo "BEGIN;"
        if [[ "$kind" == plain ]]; then
            echo "\\copy probes ($probe_cols) FROM '$work/chunks/probes.$id'"
            echo "\\copy records ($record_cols) FROM '$work/chunks/records.$id'"
        else
            echo "\\copy probes ($probe_cols, $array_cols) FROM '$work/chunks/$kind.$id'"
        fi
        echo "COMMIT;"
    done >"$work/load-$kind.sql"
done

# --- the runs --------------------------------------------------------------------------------
# layout -> server setting
declare -A layout_config=([a]=default [b]=default [b-addr]=default [b-ns]=default [b-answer]=default [d]=default [e-noidx]=default [e-build]=default [e-brin]=default [d-lean]=default)
for c in "${!configs[@]}"; do [[ "$c" == default ]] || layout_config[c-$c]="$c"; done
layouts=(a b b-addr b-ns b-answer c-sync-off c-wal-size c-wal-lz4 c-buffers c-durable-all c-all d d-lean e-noidx e-build e-brin)
if [[ -n "${LAYOUT_BENCH_ONLY:-}" ]]; then
    wanted=(a)
    for l in "${layouts[@]}"; do [[ "$l" != a && ",$LAYOUT_BENCH_ONLY," == *",$l,"* ]] && wanted+=("$l"); done
    layouts=("${wanted[@]}")
fi
for l in "${layouts[@]}"; do
    [[ "$l" == c-* ]] && continue   # c-* use a's database
    log "setting up layout $l"
    setup_layout "$l"
done
declare -A rate wal bytes cpu
for ((r = 1; r <= repeats; r++)); do
    # Grouped by server setting (a restart each), in a fixed order within a repetition.
    for config in default sync-off wal-size wal-lz4 buffers durable-all all; do
        for l in "${layouts[@]}"; do
            [[ "${layout_config[$l]}" == "$config" ]] || continue
            start_server "$config"
            db="l_${l//-/_}"; [[ "$l" == c-* ]] && db=l_a
            kind=plain; [[ "$l" == d ]] && kind=compact; [[ "$l" == d-lean ]] && kind=lean
            log "repetition $r/$repeats: $l"
            if [[ "$kind" == plain ]]; then psql_ "$db" -c "TRUNCATE probes, records"; else psql_ "$db" -c "TRUNCATE probes"; fi
            psql_ "$db" -c "CHECKPOINT"   # every run starts from the same state
            lsn0="$(psql_ "$db" -At -c "SELECT pg_current_wal_lsn()")"
            c0="$(cpu_seconds)"
            t0="$(now)"
            psql_ "$db" -f "$work/load-$kind.sql"
            if [[ "$l" == d* ]]; then   # the GIN pending list's inserts belong to the cost
                psql_ "$db" -Atc "SELECT gin_clean_pending_list('probes_addresses_gin')" >/dev/null
            fi
            if [[ "$l" == e-build ]]; then
                psql_ "$db" -c "DO \$\$ DECLARE i record; BEGIN
                    FOR i IN SELECT * FROM bench_indexes LOOP EXECUTE i.indexdef; END LOOP; END \$\$"
            fi
            t1="$(now)"
            sleep 0.2   # the backend exits and is reaped
            c1="$(cpu_seconds)"
            lsn1="$(psql_ "$db" -At -c "SELECT pg_current_wal_lsn()")"
            stored="$(psql_ "$db" -At -c "SELECT count(*) FROM probes")"
            [[ "$stored" == "$names" ]] || { echo "$me: $l stored $stored probes, not $names" >&2; exit 1; }
            size="$(psql_ "$db" -At -c "SELECT sum(pg_total_relation_size(oid)) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname IN ('probes', 'records') AND relkind = 'r'")"
            walb="$(psql_ "$db" -At -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')")"
            if [[ "$r" == 1 && "$l" == d* ]]; then   # the records view gives back a's rows
                same="SELECT md5(string_agg(concat_ws('|', probe_id, section, owner, rtype, ttl, address, target), ',' ORDER BY probe_id, section, rtype, address, target)) FROM records"
                [[ "$(psql_ l_a -At -c "$same")" == "$(psql_ "$db" -At -c "$same")" ]] ||
                    { echo "$me: layout $l's records view differs from layout a's records" >&2; exit 1; }
            fi
            if [[ "$l" == e-build ]]; then   # back to loading without indexes
                psql_ "$db" -c "DROP INDEX probes_pkey, probes_domain_sent_idx, probes_run_idx, records_probe_idx, records_address_idx, records_ns_cname_target_idx"
            fi
            rate[$l]+="$(awk -v n="$names" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", n / (e - s) }') "
            wal[$l]+="$(awk -v n="$names" -v w="$walb" 'BEGIN { printf "%.0f", w / n }') "
            bytes[$l]+="$(awk -v n="$names" -v b="$size" 'BEGIN { printf "%.0f", b / n }') "
            cpun="$(awk -v n="$names" -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')"
            cpu[$l]+="$cpun "
            echo "layout=$l repetition=$r names_per_s=$(awk -v n="$names" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", n / (e - s) }') seconds=$(awk -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", e - s }') wal_bytes_per_name=$(awk -v n="$names" -v w="$walb" 'BEGIN { printf "%.0f", w / n }') stored_bytes_per_name=$(awk -v n="$names" -v b="$size" 'BEGIN { printf "%.0f", b / n }') server_cpu_us_per_name=$cpun"
        done
    done
done
start_server default

# --- research queries on a few million probes: current layout vs compact ---------------------
declare -A qms
query_rows=""
if [[ "$qdomains" -gt 0 && "$qrounds" -gt 0 ]]; then
    log "generating $qdomains x $qrounds probes for the query latencies (layouts a and d)"
    psql_ postgres -c "CREATE DATABASE q_a TEMPLATE fw_template"
    psql_ q_a -v domains="$qdomains" -v rounds="$qrounds" <<'SQL'
SET maintenance_work_mem = '1GB';
INSERT INTO watchlist (domain, source)
SELECT format('n%s.bench.test', lpad(d::text, 7, '0')), 'bench' FROM generate_series(1, :domains) d;
ALTER TABLE probes DROP CONSTRAINT probes_pkey;
DROP INDEX probes_domain_sent_idx, probes_run_idx, records_probe_idx, records_address_idx,
           records_ns_cname_target_idx;
-- Round k of domain d is probe (k - 1) * domains + d, sent 10 minutes after round k - 1:
-- stored round after round (a domain's probes spread over the table) like the crawler's.
INSERT INTO probes (probe_id, run_id, domain_id, qname, qtype, resolver, sent_at, latency_us,
                    outcome, rcode, via_tcp, authoritative, mode)
SELECT (k - 1)::bigint * :domains + d, k, d, format('n%s.bench.test', lpad(d::text, 7, '0')), 'A',
       '127.0.0.1:5390', timestamptz '2026-11-01 00:00:00+00' + k * interval '10 minutes'
         + d * interval '10 microseconds', 300 + d % 700, 'NOERROR', 0, false, true, 'recursive'
FROM generate_series(1, :rounds) k, generate_series(1, :domains) d;
-- The answers of nsd in bench/run.sh, the addresses moving from round to round.
INSERT INTO records
SELECT (k - 1)::bigint * :domains + d, x.*
FROM generate_series(1, :rounds) k, generate_series(1, :domains) d
CROSS JOIN LATERAL (
  SELECT 'answer', format('n%s.bench.test', lpad(d::text, 7, '0')), 'A', 30,
         '127.64.0.0'::inet + (256 + ((d * 7 + j * 1013 + k * 31) % 6096)), NULL
  FROM generate_series(0, d % 5) j
  UNION ALL SELECT 'authority', 'bench.test', 'NS', 3600, NULL, 'ns.bench.test'
  UNION ALL SELECT 'additional', 'ns.bench.test', 'A', 3600, '127.0.0.1', NULL
) x;
ALTER TABLE probes ADD PRIMARY KEY (probe_id);
CREATE INDEX probes_domain_sent_idx ON probes (domain_id, sent_at);
CREATE INDEX probes_run_idx ON probes (run_id);
CREATE INDEX records_probe_idx ON records (probe_id);
CREATE INDEX records_address_idx ON records (address) WHERE address IS NOT NULL;
CREATE INDEX records_ns_cname_target_idx ON records (target) WHERE rtype IN ('NS', 'CNAME');
SQL
    psql_ q_a -c "SET work_mem = '512MB'" -c "\\copy ($(compact_select probes records) ORDER BY probe_id) TO '$work/q-compact.copy'" \
        -c "\\copy watchlist TO '$work/q-watchlist.copy'"
    psql_ postgres -c "CREATE DATABASE q_d TEMPLATE fw_template"
    compact_sql | psql_ q_d >/dev/null
    psql_ q_d -c "SET maintenance_work_mem = '1GB'" -c "DROP INDEX probes_addresses_gin" \
        -c "\\copy watchlist (domain_id, domain, source, tags, added_at) FROM '$work/q-watchlist.copy'" \
        -c "\\copy probes ($probe_cols, $array_cols) FROM '$work/q-compact.copy'" \
        -c "CREATE INDEX probes_addresses_gin ON probes USING gin (addresses)"
    rm -f "$work/q-compact.copy"
    for db in q_a q_d; do psql_ "$db" -c "VACUUM ANALYZE"; done
    query_rows="$(psql_ q_a -At -c "SELECT count(*) || ' probes, ' || (SELECT count(*) FROM records) || ' records' FROM probes")"
    qsize_a="$(psql_ q_a -At -c "SELECT pg_size_pretty(pg_total_relation_size('probes') + pg_total_relation_size('records'))")"
    qsize_d="$(psql_ q_d -At -c "SELECT pg_size_pretty(pg_total_relation_size('probes'))")"

    domain="n$(printf '%07d' $(( qdomains / 2 / 5 * 5 + 4 ))).bench.test"   # 5 addresses per answer
    address="127.64.3.77"
    q_history="SELECT probe_id, sent_at, qtype, outcome, array_agg(host(address) ORDER BY address) AS addresses, min(ttl) AS ttl FROM answers WHERE domain = '$domain' AND rtype = qtype AND rtype IN ('A', 'AAAA') GROUP BY probe_id, sent_at, qtype, outcome ORDER BY sent_at, probe_id"
    q_address="SELECT domain, first_seen, last_seen, times_seen FROM domain_addresses WHERE address = '$address' ORDER BY domain"
    # The same question written for the compact layout: the GIN index finds the probes.
    q_address_gin="SELECT w.domain, min(p.sent_at) AS first_seen, max(p.sent_at) AS last_seen, count(DISTINCT p.probe_id) AS times_seen FROM probes p JOIN watchlist w ON w.domain_id = p.domain_id WHERE p.addresses @> ARRAY['$address'::inet] AND EXISTS (SELECT FROM unnest(p.rr_section, p.rr_type, p.rr_data) u(s, t, d) WHERE u.s = 0 AND u.t IN ('A', 'AAAA') AND u.d = host('$address'::inet)) GROUP BY w.domain ORDER BY w.domain"
    time_query() {   # time_query DB SQL: median Execution Time of 7 EXPLAIN ANALYZE after one warm-up
        local db="$1" sql="$2" t=()
        psql_ "$db" -c "$sql" >/dev/null
        for _ in 1 2 3 4 5 6 7; do
            t+=("$(psql_ "$db" -At -c "EXPLAIN (ANALYZE) $sql" | sed -n 's/^Execution Time: \([0-9.]*\) ms/\1/p')")
        done
        printf '%s\n' "${t[@]}" | median
    }
    same_result() {   # same_result SQL-A SQL-D
        [[ "$(psql_ q_a -At -c "$1" | md5sum)" == "$(psql_ q_d -At -c "$2" | md5sum)" ]] ||
            { echo "$me: the compact layout answers differently: $2" >&2; exit 1; }
    }
    same_result "$q_history" "$q_history"
    same_result "$q_address" "$q_address"
    same_result "$q_address" "$q_address_gin"
    log "timing the research queries"
    qms[a-history]="$(time_query q_a "$q_history")"
    qms[d-history]="$(time_query q_d "$q_history")"
    qms[a-address]="$(time_query q_a "$q_address")"
    qms[d-address]="$(time_query q_d "$q_address")"
    qms[d-address-gin]="$(time_query q_d "$q_address_gin")"
    psql_ q_d -c "EXPLAIN (ANALYZE, BUFFERS) $q_address_gin" >"$work/plan-d-address-gin.txt"
fi

# --- the table -------------------------------------------------------------------------------
describe() {
    case "$1" in
        a) echo "a  current schema, PostgreSQL defaults" ;;
        b) echo "b  a without records_address/ns_cname_target idx" ;;
        b-addr) echo "b  a without records_address_idx" ;;
        b-ns) echo "b  a without records_ns_cname_target_idx" ;;
        b-answer) echo "b  records_address_idx of answer records only" ;;
        c-sync-off) echo "c  synchronous_commit=off" ;;
        c-wal-size) echo "c  max_wal_size=8GB, checkpoint_timeout=30min" ;;
        c-wal-lz4) echo "c  wal_compression=lz4" ;;
        c-buffers) echo "c  shared_buffers=1GB, wal_buffers=64MB" ;;
        c-durable-all) echo "c  all of the above but synchronous_commit" ;;
        c-all) echo "c  all of the above" ;;
        d) echo "d  compact: arrays per probe + GIN(addresses)" ;;
        d-lean) echo "d  leaner: type codes, addresses once" ;;
        e-noidx) echo "e  no index while loading (closed-day build)" ;;
        e-build) echo "e  same + building the 6 indexes after" ;;
        e-brin) echo "e  BRIN for records_probe_idx, probes_run_idx" ;;
    esac
}
ref="$(printf '%s\n' ${rate[a]} | median)"
ref_cpu="$(printf '%s\n' ${cpu[a]} | median)"
printf '\nlayout-bench, %s, %s cores, load %s, %s names (%s rows in the current layout), median of %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$names" "$rows_per_run" "$repeats"
fmt='%-50s %8s %8s %6s %8s %6s %6s %7s\n'
printf "$fmt" "layout" "names/s" "rows/s" "ratio" "CPU/name" "ratio" "WAL/n" "bytes/n"
for l in "${layouts[@]}"; do
    n="$(printf '%s\n' ${rate[$l]} | median)"
    c="$(printf '%s\n' ${cpu[$l]} | median)"
    printf "$fmt" "$(describe "$l")" "$n" "$(awk -v n="$n" -v r="$rows_per_run" -v k="$names" 'BEGIN { printf "%.0f", n * r / k }')" \
        "$(awk -v a="$n" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')" "$c us" \
        "$(awk -v a="$ref_cpu" -v b="$c" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')" \
        "$(printf '%s\n' ${wal[$l]} | median)" "$(printf '%s\n' ${bytes[$l]} | median)"
done
echo "(names/s, rows/s: wall time; rows/s counts the current layout's rows, 1 probe + its records, for"
echo " every layout. CPU/name: the cluster's CPU time per name; its ratio is a's CPU/name over the"
echo " layout's, i.e. names per server CPU-second relative to a. WAL/n, bytes/n: WAL written and"
echo " bytes stored (tables, TOAST, indexes) per name.)"
if [[ -n "$query_rows" ]]; then
    printf '\nresearch queries at %s (a: %s; d: %s), median of 7, ms\n' "$query_rows" "$qsize_a" "$qsize_d"
    printf '%-48s %10s %10s\n' "query" "a" "d"
    printf '%-48s %10s %10s\n' "domain-history (answers view)" "${qms[a-history]}" "${qms[d-history]}"
    printf '%-48s %10s %10s\n' "domains-of-address (domain_addresses view)" "${qms[a-address]}" "${qms[d-address]}"
    printf '%-48s %10s %10s\n' "domains-of-address, rewritten for GIN (d only)" "-" "${qms[d-address-gin]}"
fi
