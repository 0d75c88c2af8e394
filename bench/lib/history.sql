-- bench/lib/history.sql - a synthetic probe history written straight into today's tables
-- (schema 15: narrow observations partitioned by day, probe_contexts per run, answer sets
-- stored once per (domain, content): answer_set_counters with their first/last seen and
-- times seen, answer_set_contents with their answer records packed (address ids into
-- addresses), the authority/additional part in shared_parts): the rows the writer
-- (storage/src/probe_writer.cc) stores for
-- `fluxwatch probe` rounds against a recursive resolver. The one generator of
-- bench/sql-bench.sh (and so web-bench.sh) and bench/score-bench.sh.
-- psql variables: domains, probes (rounds, 10 minutes apart, the newest ending now).
--   Domain d is watchlist domain_id d (an empty database). Round k is probe run k; probe
--   (k - 1) * domains + d is domain d's, sent in time order, so one domain's probes are spread
--   over the whole table as the crawler stores them (time-major). Every 10th round asks NS,
--   the others A:
--     10% fast flux (d % 10 = 0): 4 of 20,000 shared addresses in 400 ASNs, a new set every
--         round, TTL 30;
--     20% CDN-like (d % 10 in 1..2): 4 of the 64 addresses of a customer group shared by
--         1,000 domains, rotating through 16 sets, TTL 300;
--     70% two fixed addresses (one set, TTL 3600);
--     NS: the domain's two in-zone names with their glue (answer NS + additional A, one set,
--         TTL 3600).
--   Every address (glue included) is enriched. Three score runs of every domain are stored.
-- As the writer stores them: a set's id is a 64-bit hash of its content (here of the domain
-- and the set's number), records in canonical order (section, type, owner, data as text),
-- owners NULL (the domain's own name), TTL offsets NULL (all 0), rtypes NULL (all address
-- records); observations.qname NULL (the domain's own name), ttl NULL (the set's own
-- smallest TTL), ttls NULL (uniform TTLs); the counters of each (domain, set) are those of
-- its probes. Recursive answers: authoritative bit false.
-- Secondary indexes are dropped for the load and built afterwards, as a bulk load would.
SET synchronous_commit = off;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
SELECT now() - (:probes + 1) * interval '10 minutes' AS bench_start \gset

-- A set's id and its digest check (the writer: bytes 1-8 and 9-16 of a SHA-256), and the
-- ttl_shape of n records with the same TTL (the writer: SHA-256 of the offsets "0,0,...").
CREATE FUNCTION pg_temp.bench_set_id(d bigint, variant bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT hashint8extended(d * 1000000 + variant, 0) $$;
CREATE FUNCTION pg_temp.bench_ttl_shape(n integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT ('x' || left(encode(sha256(convert_to(array_to_string(array_fill(0, ARRAY[n]), ','),
                                              'UTF8')), 'hex'), 16))::bit(64)::bigint
$$;
-- Set numbers (variant): 0 the stable A set, 1 the NS set, 2 + k % 16 a CDN set, 100 + k the
-- set of a flux domain's round k. bench_domains: the domains (of 1..n) that have set `variant`.
CREATE FUNCTION pg_temp.bench_domains(variant bigint, n integer) RETURNS SETOF integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT d FROM generate_series(10, n, 10) d WHERE variant >= 100
  UNION ALL
  SELECT d FROM generate_series(1, n) d
  WHERE variant < 100 AND (variant = 1 OR (variant = 0 AND d % 10 >= 3)
                           OR (variant >= 2 AND d % 10 IN (1, 2)))
$$;
CREATE TEMP TABLE bench_rounds AS
SELECT k, CASE WHEN k % 10 = 0 THEN 'NS' ELSE 'A' END AS qtype,
       :'bench_start'::timestamptz + k * interval '10 minutes' AS round_start
FROM generate_series(1, :probes) k;

INSERT INTO watchlist (domain_id, domain, source) OVERRIDING SYSTEM VALUE
SELECT d, format('d%s.bench.test', d), 'bench' FROM generate_series(1, :domains) d;
SELECT setval(pg_get_serial_sequence('watchlist', 'domain_id'), :domains);
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
INSERT INTO address_geo (address, geo_build_id, asn, as_org, country, latitude, longitude)
SELECT '10.160.0.0'::inet + i, 1, 65400 + i % 50, 'dns', 'NL', 52, 5
FROM generate_series(0, 2 * :domains + 1) i;

-- Daily partitions over the whole history (fluxwatch creates them ahead the same way).
SELECT count(*) AS partitions FROM (
  SELECT fluxwatch_create_observation_partition(day::date)
  FROM generate_series(:'bench_start'::timestamptz - interval '1 day', now() + interval '1 day',
                       interval '1 day') day) p;

-- One probe run per round, and its one context (every probe of a round asks the same type
-- of the same resolver and is answered NOERROR).
INSERT INTO probe_runs (kind, started_at, finished_at, probes, records, errors)
SELECT 'probe', round_start, round_start + interval '2 minutes', :domains,
       CASE WHEN qtype = 'NS' THEN 4 * :domains ELSE (3 * 4 + 7 * 2) * :domains / 10 END, 0
FROM bench_rounds ORDER BY k;
CREATE TEMP TABLE bench_run_of AS
SELECT k, run_id FROM (SELECT k, row_number() OVER (ORDER BY k) AS n FROM bench_rounds) r
JOIN (SELECT run_id, row_number() OVER (ORDER BY run_id) AS n FROM probe_runs) p USING (n);
INSERT INTO probe_contexts (run_id, resolver, mode, qtype, outcome, rcode, via_tcp, authoritative)
SELECT p.run_id, '127.0.0.1:53', 'recursive', r.qtype, 'NOERROR', 0, false, false
FROM bench_rounds r JOIN bench_run_of p USING (k) ORDER BY k;
-- context_id of round k = bench_context_base + k (checked).
SELECT min(context_id) - 1 AS bench_context_base FROM probe_contexts \gset
SELECT set_config('bench.context_base', :'bench_context_base', false) AS context_base;
DO $$ BEGIN
  IF EXISTS (SELECT FROM probe_contexts c JOIN bench_run_of p USING (run_id)
             WHERE c.context_id <> current_setting('bench.context_base')::int + p.k) THEN
    RAISE EXCEPTION 'history.sql: probe contexts are not numbered by round';
  END IF;
END $$;

CREATE TEMP TABLE bench_indexes AS
SELECT indexname, replace(indexdef, ' ON ONLY ', ' ON ') AS indexdef FROM pg_indexes
WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'
  AND tablename IN ('observations', 'answer_set_contents');
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT * FROM bench_indexes LOOP EXECUTE format('DROP INDEX %I', i.indexname); END LOOP;
END $$;

-- The probes, round after round; ttl NULL: the set's own smallest TTL (TTLs do not change).
INSERT INTO observations (domain_id, sent_at, probe_id, answer_set_id, context_id, latency_us)
SELECT d, r.round_start + d * interval '1 millisecond', (r.k - 1)::bigint * :domains + d,
       pg_temp.bench_set_id(d, CASE WHEN r.qtype = 'NS' THEN 1 WHEN d % 10 = 0 THEN 100 + r.k
                                    WHEN d % 10 < 3 THEN 2 + r.k % 16 ELSE 0 END),
       :bench_context_base + r.k, 1000 + (d * 7 + r.k * 13) % 5000
FROM bench_rounds r CROSS JOIN LATERAL generate_series(1, :domains + 0 * r.k) d;  -- k, then d

-- The sets, each when its first probe stored it (time-major too), with their counters:
-- those of the rounds that saw it (sent_at of domain d in round k: round_start + d ms).
CREATE TEMP TABLE bench_sets AS
SELECT variant, qtype, min(k) AS first_k, max(k) AS last_k, count(*) AS times,
       min(round_start) AS first_start, max(round_start) AS last_start
FROM (SELECT k, qtype, round_start, 1 AS variant FROM bench_rounds WHERE qtype = 'NS'
      UNION ALL SELECT k, qtype, round_start, 0 FROM bench_rounds WHERE qtype = 'A'
      UNION ALL SELECT k, qtype, round_start, 2 + k % 16 FROM bench_rounds WHERE qtype = 'A'
      UNION ALL SELECT k, qtype, round_start, 100 + k FROM bench_rounds WHERE qtype = 'A') v
GROUP BY variant, qtype
ORDER BY first_k, variant;
INSERT INTO answer_set_counters (domain_id, answer_set_id, first_seen, last_seen, times_seen,
                                 min_ttl)
SELECT d, pg_temp.bench_set_id(d, s.variant),
       s.first_start + d * interval '1 millisecond', s.last_start + d * interval '1 millisecond',
       s.times,
       CASE WHEN s.variant = 1 THEN 3600 WHEN d % 10 = 0 THEN 30 WHEN d % 10 < 3 THEN 300
            ELSE 3600 END
FROM bench_sets s CROSS JOIN LATERAL pg_temp.bench_domains(s.variant, :domains) d;

-- What the sets are. Every address once (addresses), numbered by pool: flux 1-20,000, CDN
-- 20,001-26,400, stable 26,401 + (2d + j), glue after them.
INSERT INTO addresses (address_id, address)
SELECT 1 + i, '10.0.0.0'::inet + i FROM generate_series(0, 19999) i
UNION ALL SELECT 20001 + i, '10.200.0.0'::inet + i FROM generate_series(0, 64 * 100 - 1) i
UNION ALL SELECT 26401 + i, '10.100.0.0'::inet + i FROM generate_series(2, 2 * :domains + 1) i
UNION ALL SELECT 26402 + 2 * :domains + i, '10.160.0.0'::inet + i
          FROM generate_series(2, 2 * :domains + 1) i;
SELECT setval(pg_get_serial_sequence('addresses', 'address_id'), max(address_id))
FROM addresses;
-- The NS sets' glue: the authority/additional part, shared by every set that holds it (one
-- per domain here: its own in-zone name servers).
INSERT INTO shared_parts (shared_id, digest_check, sections, owners, address_ids)
SELECT hashint8extended(d, 2), hashint8extended(d, 3), '{d,d}',
       ARRAY[format('ns1.d%s.bench.test', d), format('ns2.d%s.bench.test', d)],
       ARRAY[26402 + 2 * :domains + 2 * d, 26402 + 2 * :domains + 2 * d + 1]
FROM generate_series(1, :domains) d;
-- A sets: the answer's addresses in text order (the canonical order); NS sets: the two names
-- and the shared glue.
INSERT INTO answer_set_contents (domain_id, answer_set_id, digest_check, ttl_shape, ttl,
                                 shared_id, shared_ttl_offset, rtypes, address_ids, targets)
SELECT d, pg_temp.bench_set_id(d, s.variant), hashint8extended(d::bigint * 1000000 + s.variant, 1),
       pg_temp.bench_ttl_shape(CASE WHEN s.variant = 0 THEN 2 ELSE 4 END),
       CASE WHEN s.variant = 1 THEN 3600 WHEN d % 10 = 0 THEN 30 WHEN d % 10 < 3 THEN 300
            ELSE 3600 END,
       CASE WHEN s.variant = 1 THEN hashint8extended(d, 2) END,
       CASE WHEN s.variant = 1 THEN 0 END,
       CASE WHEN s.variant = 1 THEN '{NS,NS}'::text[] END,
       CASE WHEN s.variant <> 1 THEN ARRAY(
         SELECT id FROM (
           SELECT CASE WHEN d % 10 = 0
                         THEN 1 + (d::bigint * 7919 + (s.variant - 100) * 104729
                                   + j * 15485863) % 20000
                       WHEN d % 10 < 3
                         THEN 20001 + (d % 100) * 64 + ((s.variant - 2) * 4 + j) % 64
                       ELSE 26401 + d * 2 + j END AS id
           FROM generate_series(0, CASE WHEN s.variant = 0 THEN 1 ELSE 3 END) j) ids
         ORDER BY host(CASE WHEN id <= 20000 THEN '10.0.0.0'::inet + (id - 1)
                            WHEN id <= 26400 THEN '10.200.0.0'::inet + (id - 20001)
                            ELSE '10.100.0.0'::inet + (id - 26401) END) COLLATE "C"
       )::integer[] END,
       CASE WHEN s.variant = 1
            THEN ARRAY[format('ns1.d%s.bench.test', d), format('ns2.d%s.bench.test', d)] END
FROM bench_sets s CROSS JOIN LATERAL pg_temp.bench_domains(s.variant, :domains) d;
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
       4, 0, 1, 1, 1, 1, 2, 2, 2
FROM score_runs r, generate_series(1, :domains) d;
