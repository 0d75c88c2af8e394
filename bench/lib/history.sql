-- bench/lib/history.sql - a synthetic probe history written straight into today's tables
-- (schema 9+: observations partitioned by day, answer sets stored once per domain, the
-- per-(domain, address) summary), the rows the writer (storage/src/probe_writer.cc) would
-- have stored for it. Used by bench/sql-bench.sh (and so web-bench.sh) and score-bench.sh.
-- psql variables: domains, probes (rounds, 10 minutes apart, the newest ending now). Three
-- score runs of every domain are stored too (the newest score is what the web view and
-- `report --scores` read; `score` adds its own run on top).
--   Domain d is watchlist domain_id d (an empty database). Round k of domain d is probe
--   (k - 1) * domains + d, sent in time order, so one domain's probes are spread over the
--   whole table as the crawler stores them (time-major). Every 10th round asks NS (the
--   domain's two names, one answer set), the others A: 10% fast flux (d % 10 = 0: 4 of
--   20,000 shared addresses in 400 ASNs, a new set every round, TTL 30), 20% CDN-like
--   (d % 10 in 1..2: 4 of the 64 addresses of a customer group shared by 1,000 domains, a
--   new set every round, TTL 300), 70% two fixed addresses (one set, TTL 3600). Every
--   address is enriched.
-- Secondary indexes are dropped for the load and built afterwards, as a bulk load would.
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

-- Daily partitions over the whole history (fluxwatch creates them ahead the same way).
CREATE TEMP TABLE bench_days AS
SELECT day::date FROM generate_series(now() - (:probes + 1) * interval '10 minutes' - interval '1 day',
                                      now() + interval '1 day', interval '1 day') day;
DO $$ BEGIN
  PERFORM fluxwatch_create_observation_partition(day) FROM bench_days;
END $$;
INSERT INTO probe_contexts (resolver, mode) VALUES ('127.0.0.1:53', 'recursive')
ON CONFLICT DO NOTHING;

CREATE TEMP TABLE bench_indexes AS
SELECT indexname, replace(indexdef, ' ON ONLY ', ' ON ') AS indexdef FROM pg_indexes
WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'
  AND tablename IN ('observations', 'answer_set_records', 'domain_address_seen');
DO $$ DECLARE i record; BEGIN
  FOR i IN SELECT * FROM bench_indexes LOOP EXECUTE format('DROP INDEX %I', i.indexname); END LOOP;
END $$;

-- Answer set ids: k for a flux/CDN domain's round-k set, 0 for a stable domain's A set, -1
-- for every domain's NS set (the writer uses digest prefixes; scoring and the views only
-- join on them).
INSERT INTO observations (domain_id, sent_at, probe_id, answer_set_id, ttl, context_id,
                          latency_us, outcome, rcode, via_tcp, qtype, qname)
SELECT d, now() - (:probes + 1) * interval '10 minutes' + k * interval '10 minutes'
            + d * interval '1 millisecond',
       (k - 1)::bigint * :domains + d,
       CASE WHEN k % 10 = 0 THEN -1 WHEN d % 10 < 3 THEN k ELSE 0 END,
       CASE WHEN k % 10 = 0 THEN 3600 WHEN d % 10 = 0 THEN 30 WHEN d % 10 < 3 THEN 300 ELSE 3600 END,
       (SELECT context_id FROM probe_contexts WHERE resolver = '127.0.0.1:53' AND mode = 'recursive'
          AND campaign = '' AND vantage = '' AND server_name = ''),
       1000, 'NOERROR', 0, false, CASE WHEN k % 10 = 0 THEN 'NS' ELSE 'A' END,
       format('d%s.bench.test', d)
FROM generate_series(1, :probes) k, generate_series(1, :domains) d;
INSERT INTO answer_set_records (domain_id, answer_set_id, ord, section, owner, rtype, ttl_offset,
                                address)
SELECT d, s.k, j, 'answer', format('d%s.bench.test', d), 'A', 0,
       CASE WHEN d % 10 = 0 THEN '10.0.0.0'::inet + ((d * 7919 + s.k * 104729 + j * 15485863) % 20000)
            WHEN d % 10 < 3 THEN '10.200.0.0'::inet + ((d % 100) * 64 + (s.k * 4 + j) % 64)
            ELSE '10.100.0.0'::inet + (d * 2 + j % 2) END
FROM generate_series(1, :domains) d
CROSS JOIN LATERAL (SELECT k FROM generate_series(1, :probes) k WHERE k % 10 <> 0 AND d % 10 < 3
                    UNION ALL SELECT 0 WHERE d % 10 >= 3) s
CROSS JOIN generate_series(0, 3) j
WHERE d % 10 < 3 OR j < 2;
INSERT INTO answer_set_records (domain_id, answer_set_id, ord, section, owner, rtype, ttl_offset,
                                target)
SELECT d, -1, j - 1, 'answer', format('d%s.bench.test', d), 'NS', 0,
       format('ns%s.d%s.bench.test', j, d)
FROM generate_series(1, :domains) d, generate_series(1, 2) j;
INSERT INTO answer_sets (domain_id, answer_set_id, digest, records, ttl_shape, first_seen)
SELECT r.domain_id, r.answer_set_id, '\x00', count(*), 0,
       now() - (:probes + 1) * interval '10 minutes'
FROM answer_set_records r GROUP BY r.domain_id, r.answer_set_id;
-- What the writer keeps per (domain, address) as it stores each batch.
INSERT INTO domain_address_seen (domain_id, address, first_seen, last_seen, times_seen, min_ttl)
SELECT o.domain_id, r.address, min(o.sent_at), max(o.sent_at), count(*), min(o.ttl + r.ttl_offset)
FROM observations o
JOIN answer_set_records r ON r.domain_id = o.domain_id AND r.answer_set_id = o.answer_set_id
WHERE r.address IS NOT NULL
GROUP BY o.domain_id, r.address;
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
