-- 0007_query_paths: paths for the point queries of docs/queries.md at tens of millions of rows
-- (docs/performance.md, "Research queries at 50M answer rows"): the newest score of one domain
-- without reading every domain's scores, and each address's newest enrichment as a table
-- keyed by address, so that the answers view joins it with one index probe per row, or not at
-- all when a query uses no enrichment column. (A covering index for one address across
-- domains was measured and left out: 3x faster lookups for 43% more bytes per record.)

-- The newest score of each domain, found per domain through domain_scores_domain_idx
-- (domain_id, score_run_id) instead of a DISTINCT ON over every stored score: a filter on the
-- domain reads one index entry, and the whole view costs one index probe per domain however
-- many score runs are kept. Same columns, same meaning as in 0004.
CREATE OR REPLACE VIEW latest_scores AS
SELECT w.domain, s.*, r.computed_at, r.window_start, r.window_end, r.campaign
FROM watchlist w
CROSS JOIN LATERAL (
  SELECT d.* FROM domain_scores d
  WHERE d.domain_id = w.domain_id
  ORDER BY d.score_run_id DESC
  LIMIT 1
) s
JOIN score_runs r ON r.score_run_id = s.score_run_id;
COMMENT ON VIEW latest_scores IS 'The newest score of each domain (see score_history).';

-- What the newest GeoIP build says about each address: address_geo reduced to one row per
-- address, kept in step by the triggers below (address_geo is only ever inserted into by
-- fluxwatch; deletes are followed too).
CREATE TABLE address_geo_newest (
  address      inet PRIMARY KEY,
  geo_build_id integer NOT NULL REFERENCES geo_builds,
  asn          bigint,
  as_org       text,
  country      text,
  country_name text,
  city         text,
  latitude     double precision,
  longitude    double precision
);
COMMENT ON TABLE address_geo_newest IS
  'For each enriched address, its address_geo row of the newest GeoIP build (the highest '
  'geo_build_id). Maintained by triggers on address_geo; read it through address_info.';

INSERT INTO address_geo_newest
SELECT DISTINCT ON (address) address, geo_build_id, asn, as_org, country, country_name, city,
       latitude, longitude
FROM address_geo ORDER BY address, geo_build_id DESC;

-- Statement-level, with the inserted rows as a transition table: one upsert per statement of
-- the writer, in address order (concurrent writers lock rows in the same order).
CREATE FUNCTION address_geo_newest_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO address_geo_newest AS n
  SELECT DISTINCT ON (address) address, geo_build_id, asn, as_org, country, country_name, city,
         latitude, longitude
  FROM inserted ORDER BY address, geo_build_id DESC
  ON CONFLICT (address) DO UPDATE
    SET geo_build_id = EXCLUDED.geo_build_id, asn = EXCLUDED.asn, as_org = EXCLUDED.as_org,
        country = EXCLUDED.country, country_name = EXCLUDED.country_name,
        city = EXCLUDED.city, latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude
    WHERE n.geo_build_id <= EXCLUDED.geo_build_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER address_geo_newest_insert AFTER INSERT ON address_geo
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION address_geo_newest_insert();

-- A deleted row that was the newest gives way to the next newest build, if any.
CREATE FUNCTION address_geo_newest_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM address_geo_newest n USING deleted d
  WHERE n.address = d.address AND n.geo_build_id = d.geo_build_id;
  INSERT INTO address_geo_newest
  SELECT DISTINCT ON (g.address) g.address, g.geo_build_id, g.asn, g.as_org, g.country,
         g.country_name, g.city, g.latitude, g.longitude
  FROM address_geo g
  WHERE g.address IN (SELECT address FROM deleted)
  ORDER BY g.address, g.geo_build_id DESC
  ON CONFLICT (address) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER address_geo_newest_delete AFTER DELETE ON address_geo
  REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION address_geo_newest_delete();

CREATE OR REPLACE VIEW address_info AS
SELECT n.address, n.asn, n.as_org, n.country, n.country_name, n.city, n.latitude, n.longitude,
       b.tag AS geo_build
FROM address_geo_newest n JOIN geo_builds b USING (geo_build_id);
COMMENT ON VIEW address_info IS
  'One row per enriched address: what the newest GeoIP build says about it.';

-- The enrichment through address_geo_newest's primary key: an index probe per record, and
-- none when the query reads no enrichment column (the planner drops a left join to a unique
-- key whose columns are unused).
CREATE OR REPLACE VIEW answers AS
SELECT w.domain, p.domain_id, p.probe_id, p.run_id, p.qname, p.qtype, p.resolver, p.sent_at,
       p.outcome, p.campaign, r.owner, r.rtype, r.ttl, r.address, r.target,
       i.asn, i.as_org, i.country, i.city, i.latitude, i.longitude
FROM probes p
JOIN records r ON r.probe_id = p.probe_id AND r.section = 'answer'
LEFT JOIN watchlist w ON w.domain_id = p.domain_id
LEFT JOIN address_geo_newest i ON i.address = r.address;
COMMENT ON VIEW answers IS
  'Every answer-section record with its probe (domain, qtype, time, outcome) and the '
  'enrichment of its address. Filter on domain or address: both are indexed paths.';
