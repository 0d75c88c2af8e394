-- 0009_answer_sets: every answer stored once (issue 12). A probe used to be one wide row in
-- `probes` plus one row per record in `records` (about 1,430 bytes per probe on a first
-- round, 740 on an unchanged one, docs/scaling.md). Most answers repeat, so now:
--   answer_sets / answer_set_records  what a probe got back (every record of the answer,
--                                     authority and additional sections), stored once per
--                                     domain, content-addressed by the SHA-256 of its
--                                     canonical form (see below);
--   observations                      one narrow row per probe (time, type, outcome,
--                                     latency, TTL, the answer set's id, a context id),
--                                     range-partitioned by sent_at, one partition a day;
--   probe_contexts                    resolver, mode, campaign, vantage and server name of
--                                     probes, stored once;
--   domain_address_seen               per (domain, address): first seen, last seen, times
--                                     seen, smallest TTL, kept up to date by the writer.
-- `probes` and `records` become views with their old columns, and every documented view
-- keeps its name and columns (docs/queries.md). Existing rows are moved here, in place.
--
-- Canonical form of an answer set (computed by the writer in C++, storage/src/answer_set.cc,
-- and below in SQL for the rows moved in): the records sorted by section (answer, authority,
-- additional), then type name, owner and data (bytewise), each written as
-- "section TAB type TAB owner TAB data LF". TTLs are left out of the identity on purpose: a
-- recursive resolver counts them down between probes, which must not make a new set. The
-- TTLs are kept exactly all the same: the set stores each record's TTL minus the smallest
-- (ttl_offset, as first seen), the probe its smallest TTL (observations.ttl); a record's TTL
-- is observations.ttl + ttl_offset. When a probe's TTLs are not that uniform shift (records
-- cached at different times, a zone that changed one TTL), the probe carries every TTL in
-- canonical order (observations.ttls), which wins.
--
-- Keys: domain_id leads every large table's key (answer sets are per domain: the owners of
-- their records are the domain's names anyway), so that a Citus cluster can distribute them
-- all by domain_id (docs/scaling.md). Names that are not watched (NS hosts) use domain 0 in
-- the answer-set tables; observations.domain_id stays NULL for them, as probes.domain_id was.

-- --- tables -----------------------------------------------------------------------------

CREATE TABLE probe_contexts (
  context_id  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  resolver    text NOT NULL,
  mode        text NOT NULL CHECK (mode IN ('recursive', 'authoritative', 'delegation')),
  campaign    text NOT NULL DEFAULT '',
  vantage     text NOT NULL DEFAULT '',
  server_name text NOT NULL DEFAULT '',
  UNIQUE (resolver, mode, campaign, vantage, server_name)
);
COMMENT ON TABLE probe_contexts IS
  'Where and why probes were sent (server asked, mode, campaign, vantage, NS name), stored '
  'once and referenced by observations.context_id. Empty text means "none" (NULL in the '
  'probes view).';

CREATE TABLE answer_sets (
  domain_id     bigint NOT NULL,
  answer_set_id bigint NOT NULL,
  digest        bytea NOT NULL,
  records       integer NOT NULL,
  ttl_shape     bigint NOT NULL,
  first_seen    timestamptz NOT NULL,
  PRIMARY KEY (domain_id, answer_set_id)
);
COMMENT ON TABLE answer_sets IS
  'Each distinct answer a domain got (all records of the answer, authority and additional '
  'sections, TTLs aside), stored once. Its records are in answer_set_records.';
COMMENT ON COLUMN answer_sets.domain_id IS 'The watched domain; 0 for names not on the watchlist.';
COMMENT ON COLUMN answer_sets.answer_set_id IS
  'The first 8 bytes of digest as a signed integer (content address).';
COMMENT ON COLUMN answer_sets.digest IS
  'SHA-256 of the canonical form (migration 0009 describes it); guards against id collisions.';
COMMENT ON COLUMN answer_sets.ttl_shape IS
  'Hash of the TTL offsets (answer_set_records.ttl_offset in record order): a probe with the '
  'same shape stores only its smallest TTL.';
COMMENT ON COLUMN answer_sets.first_seen IS 'sent_at of the first probe stored with this set.';

CREATE TABLE answer_set_records (
  domain_id     bigint NOT NULL,
  answer_set_id bigint NOT NULL,
  ord           integer NOT NULL,
  section       text NOT NULL CHECK (section IN ('answer', 'authority', 'additional')),
  owner         text NOT NULL,
  rtype         text NOT NULL,
  ttl_offset    bigint NOT NULL,
  address       inet,
  target        text,
  PRIMARY KEY (domain_id, answer_set_id, ord)
);
CREATE INDEX answer_set_records_address_idx ON answer_set_records (address)
  WHERE address IS NOT NULL;
CREATE INDEX answer_set_records_ns_cname_target_idx ON answer_set_records (target)
  WHERE rtype IN ('NS', 'CNAME');
COMMENT ON TABLE answer_set_records IS
  'The records of each answer set, in canonical order (ord from 0). Read them with their '
  'probes through the records or answers views.';
COMMENT ON COLUMN answer_set_records.ttl_offset IS
  'The record''s TTL minus the smallest TTL of its set, as first seen: its TTL in a probe is '
  'observations.ttl + ttl_offset (or observations.ttls[ord + 1] when that is set).';
COMMENT ON COLUMN answer_set_records.address IS 'A/AAAA: the address; NULL for other types.';
COMMENT ON COLUMN answer_set_records.target IS
  'NS/CNAME: the target name; SOA: "mname rname serial refresh retry expire minimum"; other '
  'types: RDATA in presentation format; NULL for A/AAAA.';

CREATE TABLE observations (
  domain_id     bigint,
  sent_at       timestamptz NOT NULL,
  probe_id      bigint NOT NULL,
  run_id        bigint,
  answer_set_id bigint,
  ttl           bigint,
  due_at        timestamptz,
  context_id    integer NOT NULL,
  latency_us    integer,
  outcome       dns_outcome NOT NULL,
  rcode         smallint,
  via_tcp       boolean NOT NULL,
  authoritative boolean,
  qtype         text NOT NULL,
  qname         text NOT NULL,
  detail        text,
  ttls          bigint[]
) PARTITION BY RANGE (sent_at);
CREATE INDEX observations_domain_sent_idx ON observations (domain_id, sent_at);
CREATE TABLE observations_default PARTITION OF observations DEFAULT;
COMMENT ON TABLE observations IS
  'Every DNS query fluxwatch sent, one narrow row each, partitioned by day of sent_at '
  '(observations_pYYYYMMDD, created ahead by fluxwatch; observations_default catches the '
  'rest). Read it through the probes view for the old columns.';
COMMENT ON COLUMN observations.answer_set_id IS
  'The answer set (answer_sets, with domain_id or 0); NULL when the answer had no records.';
COMMENT ON COLUMN observations.ttl IS 'The smallest TTL of the answer''s records; NULL without records.';
COMMENT ON COLUMN observations.ttls IS
  'Every record''s TTL in canonical order, only when they are not the set''s TTL offsets '
  'shifted by ttl; NULL otherwise.';
COMMENT ON COLUMN observations.context_id IS 'probe_contexts: resolver, mode, campaign, ...';
COMMENT ON TABLE observations_default IS
  'Observations outside every daily partition (a safety net; normally empty).';

CREATE TABLE domain_address_seen (
  domain_id  bigint NOT NULL,
  address    inet NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen  timestamptz NOT NULL,
  times_seen bigint NOT NULL,
  min_ttl    bigint NOT NULL,
  PRIMARY KEY (domain_id, address)
)
-- Every probe updates its addresses' rows: with pages less than half full, each update finds
-- room on its own page (a HOT update: no index entry, and the old version is pruned when
-- the page is next updated), so an unchanged round neither grows the table nor its indexes.
-- Measured on 320,000 rows: 11.3 s per round of updates at fillfactor 80, 5.4 s at 45.
WITH (fillfactor = 45);
CREATE INDEX domain_address_seen_address_idx ON domain_address_seen (address);
COMMENT ON TABLE domain_address_seen IS
  'Each address a watched domain resolved to (A/AAAA in the answer section): first and last '
  'seen, in how many probes, smallest TTL. Kept by the writer in the transaction of the '
  'probes; stays when old observations are pruned (storage.retention_days).';

-- --- daily partitions -------------------------------------------------------------------

-- Creates the partition of observations for one UTC day unless it exists. Rows of that day
-- already in the default partition are moved into it first. Serialised by an advisory lock,
-- so concurrent writers may both ask. Returns true if it created the partition.
CREATE FUNCTION fluxwatch_create_observation_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  name text := format('observations_p%s', to_char(day, 'YYYYMMDD'));
  low timestamptz := day::timestamp AT TIME ZONE 'UTC';
  high timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  PERFORM pg_advisory_xact_lock(7379541170478851433);  -- "fluxpart"
  IF to_regclass(name) IS NOT NULL THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM observations_default WHERE sent_at >= low AND sent_at < high) THEN
    EXECUTE format('CREATE TABLE %I (LIKE observations INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   name);
    EXECUTE format('WITH moved AS (DELETE FROM observations_default WHERE sent_at >= $1 AND '
                   'sent_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', name)
      USING low, high;
    EXECUTE format('ALTER TABLE observations ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, low, high);
  ELSE
    EXECUTE format('CREATE TABLE %I PARTITION OF observations FOR VALUES FROM (%L) TO (%L)',
                   name, low, high);
  END IF;
  RETURN true;
END
$$;
COMMENT ON FUNCTION fluxwatch_create_observation_partition(date) IS
  'Creates observations_pYYYYMMDD for one UTC day (moving its rows out of the default '
  'partition); fluxwatch calls it ahead of the writes that need it.';

-- --- moving the rows of schema 8 --------------------------------------------------------

SELECT fluxwatch_create_observation_partition(d)
FROM (SELECT DISTINCT (sent_at AT TIME ZONE 'UTC')::date AS d FROM probes) days
ORDER BY d;

INSERT INTO probe_contexts (resolver, mode, campaign, vantage, server_name)
SELECT DISTINCT resolver, mode, coalesce(campaign, ''), coalesce(vantage, ''),
       coalesce(server_name, '')
FROM probes;

-- Each probe's records in canonical order (ord), with its smallest TTL.
CREATE TEMP TABLE fw_moved_records ON COMMIT DROP AS
SELECT r.probe_id, coalesce(p.domain_id, 0) AS set_domain,
       (row_number() OVER w - 1)::integer AS ord,
       r.section, r.owner, r.rtype, r.ttl, r.address, r.target,
       r.section || E'\t' || r.rtype || E'\t' || r.owner || E'\t'
         || coalesce(host(r.address), r.target, '') || E'\n' AS line,
       min(r.ttl) OVER (PARTITION BY r.probe_id) AS min_ttl
FROM records r JOIN probes p USING (probe_id)
WINDOW w AS (PARTITION BY r.probe_id
             ORDER BY CASE r.section WHEN 'answer' THEN 0 WHEN 'authority' THEN 1 ELSE 2 END,
                      r.rtype COLLATE "C", r.owner COLLATE "C",
                      coalesce(host(r.address), r.target, '') COLLATE "C", r.ttl);

CREATE TEMP TABLE fw_moved_probes ON COMMIT DROP AS
SELECT probe_id, set_domain, min(min_ttl) AS ttl, count(*)::integer AS records,
       sha256(convert_to(string_agg(line, '' ORDER BY ord), 'UTF8')) AS digest,
       ('x' || left(encode(sha256(convert_to(string_agg((ttl - min_ttl)::text, ',' ORDER BY ord),
                                             'UTF8')), 'hex'), 16))::bit(64)::bigint AS ttl_shape
FROM fw_moved_records GROUP BY probe_id, set_domain;
ALTER TABLE fw_moved_probes
  ADD COLUMN answer_set_id bigint;
UPDATE fw_moved_probes SET answer_set_id = ('x' || left(encode(digest, 'hex'), 16))::bit(64)::bigint;
CREATE INDEX ON fw_moved_probes (probe_id);

-- The first probe of each (domain, set) gives the set its TTL offsets.
CREATE TEMP TABLE fw_moved_sets ON COMMIT DROP AS
SELECT DISTINCT ON (m.set_domain, m.answer_set_id) m.set_domain, m.answer_set_id, m.digest,
       m.records, m.ttl_shape, m.probe_id, p.sent_at
FROM fw_moved_probes m JOIN probes p USING (probe_id)
ORDER BY m.set_domain, m.answer_set_id, p.sent_at, m.probe_id;

INSERT INTO answer_sets (domain_id, answer_set_id, digest, records, ttl_shape, first_seen)
SELECT set_domain, answer_set_id, digest, records, ttl_shape, sent_at FROM fw_moved_sets;

INSERT INTO answer_set_records (domain_id, answer_set_id, ord, section, owner, rtype,
                                ttl_offset, address, target)
SELECT s.set_domain, s.answer_set_id, r.ord, r.section, r.owner, r.rtype, r.ttl - r.min_ttl,
       r.address, r.target
FROM fw_moved_sets s JOIN fw_moved_records r USING (probe_id);

INSERT INTO observations (domain_id, sent_at, probe_id, run_id, answer_set_id, ttl, due_at,
                          context_id, latency_us, outcome, rcode, via_tcp, authoritative, qtype,
                          qname, detail, ttls)
SELECT p.domain_id, p.sent_at, p.probe_id, p.run_id, m.answer_set_id, m.ttl, p.due_at,
       c.context_id, p.latency_us, p.outcome, p.rcode, p.via_tcp, p.authoritative, p.qtype,
       p.qname, p.detail,
       CASE WHEN m.ttl_shape <> s.ttl_shape
            THEN (SELECT array_agg(r.ttl ORDER BY r.ord) FROM fw_moved_records r
                  WHERE r.probe_id = p.probe_id) END
FROM probes p
JOIN probe_contexts c
  ON c.resolver = p.resolver AND c.mode = p.mode AND c.campaign = coalesce(p.campaign, '')
 AND c.vantage = coalesce(p.vantage, '') AND c.server_name = coalesce(p.server_name, '')
LEFT JOIN fw_moved_probes m USING (probe_id)
LEFT JOIN answer_sets s ON s.domain_id = m.set_domain AND s.answer_set_id = m.answer_set_id;

INSERT INTO domain_address_seen (domain_id, address, first_seen, last_seen, times_seen, min_ttl)
SELECT p.domain_id, r.address, min(p.sent_at), max(p.sent_at), count(DISTINCT p.probe_id),
       min(r.ttl)
FROM probes p JOIN records r USING (probe_id)
WHERE p.domain_id IS NOT NULL AND r.section = 'answer' AND r.rtype IN ('A', 'AAAA')
  AND r.address IS NOT NULL
GROUP BY p.domain_id, r.address;

-- The old tables go, and with them the views on them (recreated below).
DROP TABLE records, probes CASCADE;

-- --- the old tables as views ------------------------------------------------------------

CREATE VIEW probes AS
SELECT o.probe_id, o.run_id, o.domain_id, o.qname, o.qtype, c.resolver, o.sent_at,
       o.latency_us, o.outcome, o.rcode, o.via_tcp, o.detail, o.authoritative, o.due_at,
       NULLIF(c.campaign, '') AS campaign, NULLIF(c.vantage, '') AS vantage, c.mode,
       NULLIF(c.server_name, '') AS server_name
FROM observations o JOIN probe_contexts c USING (context_id);
COMMENT ON VIEW probes IS
  'Every DNS query fluxwatch sent, with exactly the columns of the probes table of schema 8 '
  '(so that queries joining records USING (probe_id) stay unambiguous). Stored in '
  'observations (answer_set_id, ttl) and probe_contexts.';

CREATE VIEW records AS
SELECT o.probe_id, r.section, r.owner, r.rtype,
       coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl, r.address, r.target
FROM observations o
JOIN answer_set_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id;
COMMENT ON VIEW records IS
  'Resource records of each probe''s answer, authority and additional sections, with the '
  'columns of the records table of schema 8. Stored once per answer set.';

-- --- the documented views, on the new tables (same names, same columns) ------------------

CREATE VIEW answers AS
SELECT w.domain, o.domain_id, o.probe_id, o.run_id, o.qname, o.qtype, c.resolver, o.sent_at,
       o.outcome, NULLIF(c.campaign, '') AS campaign, r.owner, r.rtype,
       coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl, r.address, r.target,
       i.asn, i.as_org, i.country, i.city, i.latitude, i.longitude
FROM observations o
JOIN probe_contexts c USING (context_id)
JOIN answer_set_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id
 AND r.section = 'answer'
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
LEFT JOIN address_geo_newest i ON i.address = r.address;
COMMENT ON VIEW answers IS
  'Every answer-section record with its probe (domain, qtype, time, outcome) and the '
  'enrichment of its address. Filter on domain: an indexed path.';

CREATE VIEW domain_addresses AS
SELECT w.domain, s.domain_id, s.address, s.first_seen, s.last_seen, s.times_seen, s.min_ttl
FROM domain_address_seen s JOIN watchlist w USING (domain_id);
COMMENT ON VIEW domain_addresses IS
  'Each address a watched domain resolved to: first seen, last seen, in how many probes. '
  'Join address_info for its ASN and country. Kept as probes are written (domain_address_seen).';

CREATE VIEW ns_set_history AS
SELECT w.domain, o.domain_id, o.probe_id, o.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, NULLIF(c.vantage, '') AS vantage, c.resolver,
       o.outcome, ns.zone, ns.ns_names, ns.ttl, ns.section
FROM observations o
JOIN probe_contexts c USING (context_id)
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
LEFT JOIN LATERAL (
  SELECT r.section, min(r.owner) AS zone,
         array_agg(DISTINCT r.target ORDER BY r.target) AS ns_names,
         min(coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset)) AS ttl
  FROM answer_set_records r
  WHERE r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id
    AND r.rtype = 'NS' AND r.section IN ('answer', 'authority')
  GROUP BY r.section
  ORDER BY r.section  -- 'answer' before 'authority'
  LIMIT 1
) ns ON true
WHERE c.mode = 'delegation' AND o.qtype = 'NS';
COMMENT ON VIEW ns_set_history IS
  'Each NS-set lookup of authoritative probing (one per domain and round): the zone, its '
  'sorted NS names and their smallest TTL (section: answer, or authority for a referral). '
  'ns_names is NULL when the lookup failed (see outcome).';

CREATE VIEW soa_serial_history AS
SELECT w.domain, o.domain_id, o.probe_id, o.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, o.qname AS zone, NULLIF(c.server_name, '') AS server_name,
       c.resolver, o.outcome, coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl,
       CASE WHEN split_part(r.target, ' ', 3) ~ '^[0-9]{1,10}$'
            THEN split_part(r.target, ' ', 3)::bigint END AS serial,
       r.target AS soa
FROM observations o
JOIN probe_contexts c USING (context_id)
JOIN answer_set_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id
 AND r.section = 'answer' AND r.rtype = 'SOA'
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
WHERE c.mode = 'authoritative' AND o.qtype = 'SOA';
COMMENT ON VIEW soa_serial_history IS
  'The SOA serial of the zone as each of its name servers (server_name, resolver) answered '
  'it, every round. Name servers of one zone with different serials in one round: the zone '
  'changes, or its servers serve different data.';

CREATE VIEW authoritative_answer_sets AS
SELECT w.domain, o.domain_id, o.probe_id, o.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, NULLIF(c.vantage, '') AS vantage, o.qname, o.qtype,
       NULLIF(c.server_name, '') AS server_name, c.resolver, o.outcome, o.authoritative,
       coalesce((SELECT array_agg(DISTINCT coalesce(host(r.address), r.target)
                                  ORDER BY coalesce(host(r.address), r.target))
                 FROM answer_set_records r
                 WHERE r.domain_id = coalesce(o.domain_id, 0)
                   AND r.answer_set_id = o.answer_set_id AND r.section = 'answer'
                   AND r.rtype = o.qtype), '{}') AS answer_set
FROM observations o
JOIN probe_contexts c USING (context_id)
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
WHERE c.mode = 'authoritative';
COMMENT ON VIEW authoritative_answer_sets IS
  'Each answer of a domain''s own name server (mode authoritative) with the sorted set of '
  'answer records of the asked type (addresses, or targets / SOA text).';

CREATE VIEW authoritative_disagreement AS
SELECT domain, domain_id, run_id, due_at, campaign, qname, qtype,
       count(DISTINCT answer_set) AS distinct_answers,
       count(*) AS servers,
       jsonb_object_agg(coalesce(server_name, '?') || ' ' || resolver, to_jsonb(answer_set))
         AS answers_by_server
FROM authoritative_answer_sets
WHERE outcome IN ('NOERROR', 'NODATA', 'NXDOMAIN')
GROUP BY domain, domain_id, run_id, due_at, campaign, qname, qtype
HAVING count(DISTINCT answer_set) > 1;
COMMENT ON VIEW authoritative_disagreement IS
  'Rounds (run_id, due_at) in which the authoritative name servers of a domain gave '
  'different answer sets to the same query (a double-flux sign, or a zone being updated). '
  'Only authoritative answers (NOERROR/NODATA/NXDOMAIN) count; answers_by_server maps '
  '"ns-name address:port" to its answer set.';

-- Tables and views above are readable by fluxwatch_reader through 0004's default
-- privileges; the partitions fluxwatch creates later too.
