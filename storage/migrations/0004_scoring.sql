-- 0004_scoring: flux scoring (fluxwatch score) and the SQL surface for researchers: the
-- stored features and labels of every scoring run, documented views over the raw tables, and
-- the read-only role fluxwatch_reader. docs/queries.md shows how to use them.

CREATE TABLE score_runs (
  score_run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  computed_at  timestamptz NOT NULL DEFAULT now(),
  window_start timestamptz,
  window_end   timestamptz NOT NULL,
  campaign     text,
  settings     jsonb,
  domains      bigint
);
COMMENT ON TABLE score_runs IS
  'One row per `fluxwatch score`: the window [window_start, window_end) whose probes were '
  'scored (window_start NULL = from the first probe), the campaign filter, and the thresholds '
  'and Holz weights used (settings).';

CREATE TABLE domain_scores (
  score_run_id        bigint NOT NULL REFERENCES score_runs ON DELETE CASCADE,
  domain_id           bigint NOT NULL REFERENCES watchlist ON DELETE CASCADE,
  label               text NOT NULL CHECK (label IN ('fast_flux', 'double_flux', 'cdn_like',
                                                     'round_robin', 'stable',
                                                     'insufficient_data')),
  reasons             text[] NOT NULL DEFAULT '{}',
  holz_score          double precision NOT NULL,
  holz_flux           boolean NOT NULL,
  probes              bigint NOT NULL,
  address_probes      bigint NOT NULL,
  answered_lookups    bigint NOT NULL,
  max_answer_size     bigint NOT NULL,
  ipv4_addresses      bigint NOT NULL,
  ipv6_addresses      bigint NOT NULL,
  asns                bigint NOT NULL,
  ipv4_asns           bigint NOT NULL,
  countries           bigint NOT NULL,
  prefixes            bigint NOT NULL,
  country_entropy     double precision,
  geo_dispersion_km   double precision,
  min_ttl             bigint,
  median_ttl          bigint,
  ns_min_ttl          bigint,
  ns_median_ttl       bigint,
  ns_names            bigint NOT NULL,
  ns_addresses        bigint NOT NULL,
  ns_asns             bigint NOT NULL,
  new_address_ratio   double precision,
  set_change_ratio    double precision,
  ns_change_ratio     double precision,
  soa_serial_changes  bigint,
  PRIMARY KEY (score_run_id, domain_id)
);
CREATE INDEX domain_scores_domain_idx ON domain_scores (domain_id, score_run_id);
CREATE INDEX domain_scores_label_idx ON domain_scores (label, score_run_id);
COMMENT ON TABLE domain_scores IS
  'Features, Holz et al. flux-score and rule-based label of each domain in each score run. '
  'Column meanings: docs/queries.md ("Features").';
COMMENT ON COLUMN domain_scores.reasons IS 'Why the classifier chose the label, one fact each.';
COMMENT ON COLUMN domain_scores.holz_score IS
  'Holz et al. (NDSS 2008) f(x) = 1.32 nA + 18.54 nASN + 0 nNS - 142.38 (weights from the '
  'settings of the run); > 0 means fast flux.';
COMMENT ON COLUMN domain_scores.answered_lookups IS
  'Max over A and AAAA of the probes that returned at least one address.';
COMMENT ON COLUMN domain_scores.prefixes IS 'Distinct IPv4 /16 plus IPv6 /32 prefixes.';
COMMENT ON COLUMN domain_scores.country_entropy IS
  'Shannon entropy (bits) of the countries of the distinct addresses.';
COMMENT ON COLUMN domain_scores.geo_dispersion_km IS
  'Mean great-circle distance (km) of the distinct addresses from their centroid.';
COMMENT ON COLUMN domain_scores.new_address_ratio IS
  'Mean fraction of a lookup''s addresses that the previous lookup (same type) lacked.';
COMMENT ON COLUMN domain_scores.set_change_ratio IS
  'Fraction of consecutive lookups (same type) whose address sets differ.';
COMMENT ON COLUMN domain_scores.ns_addresses IS
  'Distinct addresses of the NS names, from any probe of the window (glue or NS host probes).';

-- --- views ------------------------------------------------------------------------------

-- The enrichment of each address by the newest GeoIP build that saw it.
CREATE VIEW address_info AS
SELECT DISTINCT ON (g.address)
       g.address, g.asn, g.as_org, g.country, g.country_name, g.city, g.latitude, g.longitude,
       b.tag AS geo_build
FROM address_geo g JOIN geo_builds b USING (geo_build_id)
ORDER BY g.address, g.geo_build_id DESC;
COMMENT ON VIEW address_info IS
  'One row per enriched address: what the newest GeoIP build says about it.';

-- One row per answer record, flat, with its probe, domain and enrichment.
CREATE VIEW answers AS
SELECT w.domain, p.domain_id, p.probe_id, p.run_id, p.qname, p.qtype, p.resolver, p.sent_at,
       p.outcome, p.campaign, r.owner, r.rtype, r.ttl, r.address, r.target,
       i.asn, i.as_org, i.country, i.city, i.latitude, i.longitude
FROM probes p
JOIN records r ON r.probe_id = p.probe_id AND r.section = 'answer'
LEFT JOIN watchlist w ON w.domain_id = p.domain_id
-- The newest build per address through the primary key (an index scan per record), not the
-- DISTINCT ON of address_info over the whole table: point queries stay fast.
LEFT JOIN LATERAL (
  SELECT g.asn, g.as_org, g.country, g.city, g.latitude, g.longitude
  FROM address_geo g WHERE g.address = r.address
  ORDER BY g.geo_build_id DESC LIMIT 1
) i ON true;
COMMENT ON VIEW answers IS
  'Every answer-section record with its probe (domain, qtype, time, outcome) and the '
  'enrichment of its address. Filter on domain or address: both are indexed paths.';

-- One row per (domain, address) ever answered for it.
CREATE VIEW domain_addresses AS
SELECT w.domain, p.domain_id, r.address, min(p.sent_at) AS first_seen,
       max(p.sent_at) AS last_seen, count(DISTINCT p.probe_id) AS times_seen, min(r.ttl) AS min_ttl
FROM probes p
JOIN records r ON r.probe_id = p.probe_id
JOIN watchlist w ON w.domain_id = p.domain_id
WHERE r.section = 'answer' AND r.rtype IN ('A', 'AAAA') AND r.address IS NOT NULL
GROUP BY w.domain, p.domain_id, r.address;
COMMENT ON VIEW domain_addresses IS
  'Each address a watched domain resolved to: first seen, last seen, in how many probes. '
  'Join address_info for its ASN and country.';

-- Every score of every domain, newest first per domain.
CREATE VIEW score_history AS
SELECT w.domain, s.*, r.computed_at, r.window_start, r.window_end, r.campaign
FROM domain_scores s
JOIN score_runs r USING (score_run_id)
JOIN watchlist w USING (domain_id);
COMMENT ON VIEW score_history IS
  'All stored scores with their domain, window and time of computation.';

-- The newest score of each domain.
CREATE VIEW latest_scores AS
SELECT DISTINCT ON (s.domain_id) w.domain, s.*, r.computed_at, r.window_start, r.window_end,
       r.campaign
FROM domain_scores s
JOIN score_runs r USING (score_run_id)
JOIN watchlist w USING (domain_id)
ORDER BY s.domain_id, s.score_run_id DESC;
COMMENT ON VIEW latest_scores IS 'The newest score of each domain (see score_history).';

-- --- read-only role ---------------------------------------------------------------------

-- Roles are cluster-wide: every database of the cluster shares this one. Creating it must
-- be idempotent and survive concurrent migrations of several databases (two CREATE ROLE at
-- once: one fails with duplicate_object or unique_violation on pg_authid).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fluxwatch_reader') THEN
    BEGIN
      CREATE ROLE fluxwatch_reader NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;  -- created concurrently by another database's migration
    END;
  END IF;
END
$$;
-- (No COMMENT ON ROLE: it writes a shared catalog, which concurrent migrations would race
-- on.) Give people access with: GRANT fluxwatch_reader TO some_login;

GRANT USAGE ON SCHEMA public TO fluxwatch_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO fluxwatch_reader;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO fluxwatch_reader;
-- Tables and views of later migrations (created by the same owner) are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO fluxwatch_reader;
