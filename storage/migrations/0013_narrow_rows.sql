-- 0013_narrow_rows: what a probe costs PostgreSQL, cut down (issue 12's write-path targets;
-- figures in docs/performance.md, "Storage rounds, schema 13"). Under schema 9 an unchanged
-- round cost one observation row (~124 bytes of heap, a (domain_id, sent_at) index entry) plus
-- 3.2 upserts of the per-(domain, address) summary; most of a round's time went to the upserts.
-- Now:
--   probe_contexts   also holds what repeats across a run's probes: run_id, qtype, outcome,
--                    rcode, via_tcp, authoritative (a few rows per run and resolver);
--   observations     keeps only what differs per probe: domain, time, probe id, answer set,
--                    context, smallest TTL, latency (and, when they apply, due_at, the qname
--                    when it is not the watched domain's own name, the failure detail, the
--                    TTLs that are not a uniform shift); one index, on domain_id alone, whose
--                    entries B-tree deduplication folds into posting lists (6 bytes a probe
--                    where (domain_id, sent_at) took ~40);
--   answer_sets      carries the summary itself: first seen, last seen, times seen and the
--                    smallest TTLs of each (domain, answer set), one in-place update per set
--                    and batch (HOT: the pages are kept half empty for it) instead of
--                    one per (domain, address); its SHA-256 digest is kept as the 8 bytes that
--                    follow the id (a 128-bit content address per domain);
--   answer_set_entries  the records of the sets, narrower than answer_set_records was: the
--                    section as one letter, the owner NULL when it is the watched domain's
--                    own name, and no primary key but an index on the set whose entries
--                    B-tree deduplication folds (one key and a posting list per set);
--                    answer_set_records is a view of it with the old columns;
--   domain_address_seen  a view: the address records of each set with its counters, summed
--                    per (domain, address) (plus domain_address_seen_carried, the part of a
--                    schema-12 summary whose observations were already pruned).
-- Every documented view keeps its name and columns; the rows are moved in place.

-- Per position, the smaller of two TTL arrays (NULL: the other one): how the writer merges
-- answer_sets.min_ttls.
CREATE FUNCTION fluxwatch_least_ttls(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN a IS NULL THEN b
              WHEN b IS NULL THEN a
              ELSE ARRAY(SELECT least(x, y) FROM unnest(a, b) WITH ORDINALITY AS u(x, y, n)
                         ORDER BY n) END
$$;

-- --- probe contexts ---------------------------------------------------------------------

CREATE TABLE probe_contexts_13 (
  context_id    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id        bigint,
  resolver      text NOT NULL,
  mode          text NOT NULL CHECK (mode IN ('recursive', 'authoritative', 'delegation')),
  campaign      text NOT NULL DEFAULT '',
  vantage       text NOT NULL DEFAULT '',
  server_name   text NOT NULL DEFAULT '',
  qtype         text NOT NULL,
  outcome       dns_outcome NOT NULL,
  rcode         smallint,
  via_tcp       boolean NOT NULL,
  authoritative boolean,
  UNIQUE NULLS NOT DISTINCT (run_id, resolver, mode, campaign, vantage, server_name, qtype,
                             outcome, rcode, via_tcp, authoritative)
);

INSERT INTO probe_contexts_13 (run_id, resolver, mode, campaign, vantage, server_name, qtype,
                               outcome, rcode, via_tcp, authoritative)
SELECT DISTINCT o.run_id, c.resolver, c.mode, c.campaign, c.vantage, c.server_name, o.qtype,
       o.outcome, o.rcode, o.via_tcp, o.authoritative
FROM observations o JOIN probe_contexts c USING (context_id);

-- --- answer sets with their summary -----------------------------------------------------

-- Per (domain, set): when and how often it was seen, and the smallest TTLs: min_ttl
-- over the probes whose TTLs were the set's offsets shifted (observations.ttls NULL), and
-- min_ttls, per record, over the others.
CREATE TEMP TABLE fw_set_counters ON COMMIT DROP AS
SELECT coalesce(domain_id, 0) AS domain_id, answer_set_id, min(sent_at) AS first_seen,
       max(sent_at) AS last_seen, count(*) AS times_seen,
       min(ttl) FILTER (WHERE ttls IS NULL) AS min_ttl
FROM observations
WHERE answer_set_id IS NOT NULL
GROUP BY 1, answer_set_id;
CREATE TEMP TABLE fw_set_min_ttls ON COMMIT DROP AS
SELECT domain_id, answer_set_id, array_agg(min_ttl ORDER BY ord) AS min_ttls
FROM (SELECT coalesce(o.domain_id, 0) AS domain_id, o.answer_set_id, t.ord,
             min(t.ttl) AS min_ttl
      FROM observations o, unnest(o.ttls) WITH ORDINALITY AS t(ttl, ord)
      WHERE o.ttls IS NOT NULL
      GROUP BY 1, o.answer_set_id, t.ord) per_record
GROUP BY domain_id, answer_set_id;

CREATE TABLE answer_sets_13 (
  domain_id     bigint NOT NULL,
  answer_set_id bigint NOT NULL,
  digest_check  bigint NOT NULL,
  ttl_shape     bigint NOT NULL,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  times_seen    bigint NOT NULL DEFAULT 0,
  min_ttl       bigint,
  min_ttls      bigint[],
  PRIMARY KEY (domain_id, answer_set_id)
)
-- A set is updated once per batch that saw it: with pages half empty
-- each update finds room on its own page (HOT: no index entry; the old version is pruned
-- when the page is next updated), so an unchanged round grows neither table nor index.
WITH (fillfactor = 50);

INSERT INTO answer_sets_13 (domain_id, answer_set_id, digest_check, ttl_shape, first_seen,
                            last_seen, times_seen, min_ttl, min_ttls)
SELECT s.domain_id, s.answer_set_id,
       ('x' || substr(encode(s.digest, 'hex'), 17, 16))::bit(64)::bigint, s.ttl_shape,
       least(s.first_seen, c.first_seen), coalesce(c.last_seen, s.first_seen),
       coalesce(c.times_seen, 0), c.min_ttl, m.min_ttls
FROM answer_sets s
LEFT JOIN fw_set_counters c USING (domain_id, answer_set_id)
LEFT JOIN fw_set_min_ttls m USING (domain_id, answer_set_id);

-- What the schema-12 summary knows beyond the observations still stored (pruned days).
CREATE TABLE domain_address_seen_carried (
  domain_id  bigint NOT NULL,
  address    inet NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen  timestamptz NOT NULL,
  times_seen bigint NOT NULL,
  min_ttl    bigint NOT NULL,
  PRIMARY KEY (domain_id, address)
);
COMMENT ON TABLE domain_address_seen_carried IS
  'Summary rows carried over from schema 12 for probes pruned before the upgrade (the times '
  'seen those probes add, their first/last seen and smallest TTL); domain_address_seen adds '
  'them in. Normally empty; never written after the upgrade.';

-- --- answer set records ------------------------------------------------------------------

CREATE TABLE answer_set_entries (
  domain_id     bigint NOT NULL,
  answer_set_id bigint NOT NULL,
  ttl_offset    bigint NOT NULL,
  ord           integer NOT NULL,
  section       "char" NOT NULL CHECK (section IN ('a', 'u', 'd')),
  rtype         text NOT NULL,
  owner         text,
  address       inet,
  target        text
);
INSERT INTO answer_set_entries (domain_id, answer_set_id, ttl_offset, ord, section, rtype, owner,
                                address, target)
SELECT r.domain_id, r.answer_set_id, r.ttl_offset, r.ord,
       CASE r.section WHEN 'answer' THEN 'a' WHEN 'authority' THEN 'u' ELSE 'd' END::"char",
       r.rtype, CASE WHEN r.owner IS DISTINCT FROM w.domain THEN r.owner END, r.address,
       r.target
FROM answer_set_records r
LEFT JOIN watchlist w ON w.domain_id = r.domain_id AND r.domain_id <> 0
ORDER BY r.domain_id, r.answer_set_id, r.ord;
-- The writer inserts a set's records only with the set itself (in the transaction whose
-- INSERT ... ON CONFLICT created it), so (domain_id, answer_set_id, ord) stays unique
-- without a unique index.
CREATE INDEX answer_set_entries_set_idx ON answer_set_entries (domain_id, answer_set_id);
CREATE INDEX answer_set_entries_address_idx ON answer_set_entries (address)
  WHERE address IS NOT NULL;
CREATE INDEX answer_set_entries_ns_cname_target_idx ON answer_set_entries (target)
  WHERE rtype IN ('NS', 'CNAME');
COMMENT ON TABLE answer_set_entries IS
  'The records of each answer set, in canonical order (ord from 0); read them through the '
  'answer_set_records view (full section names and owners), or with their probes through '
  'the records or answers views.';
COMMENT ON COLUMN answer_set_entries.section IS 'a: answer, u: authority, d: additional.';
COMMENT ON COLUMN answer_set_entries.owner IS
  'The owner name; NULL when it is the watched domain''s own name (watchlist.domain).';
COMMENT ON COLUMN answer_set_entries.ttl_offset IS
  'The record''s TTL minus the smallest TTL of its set, as first seen: its TTL in a probe is '
  'observations.ttl + ttl_offset (or observations.ttls[ord + 1] when that is set).';
COMMENT ON COLUMN answer_set_entries.address IS 'A/AAAA: the address; NULL for other types.';
COMMENT ON COLUMN answer_set_entries.target IS
  'NS/CNAME: the target name; SOA: "mname rname serial refresh retry expire minimum"; other '
  'types: RDATA in presentation format; NULL for A/AAAA.';

-- --- observations -----------------------------------------------------------------------

CREATE TABLE observations_13 (
  domain_id     bigint,
  sent_at       timestamptz NOT NULL,
  probe_id      bigint NOT NULL,
  answer_set_id bigint,
  due_at        timestamptz,
  context_id    integer NOT NULL,
  latency_us    integer,
  ttl           bigint,
  qname         text,
  detail        text,
  ttls          bigint[]
) PARTITION BY RANGE (sent_at);

-- The daily partitions of the new table, as the old one has them.
DO $$
DECLARE
  part record;
BEGIN
  FOR part IN
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'observations'::regclass AND c.relname <> 'observations_default'
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF observations_13 %s', part.relname || '_13',
                   part.bound);
  END LOOP;
END
$$;
CREATE TABLE observations_default_13 PARTITION OF observations_13 DEFAULT;

INSERT INTO observations_13 (domain_id, sent_at, probe_id, answer_set_id, due_at, context_id,
                             ttl, latency_us, qname, detail, ttls)
SELECT o.domain_id, o.sent_at, o.probe_id, o.answer_set_id, o.due_at, n.context_id, o.ttl,
       o.latency_us, CASE WHEN o.qname IS DISTINCT FROM w.domain THEN o.qname END, o.detail,
       o.ttls
FROM observations o
JOIN probe_contexts c USING (context_id)
JOIN probe_contexts_13 n
  ON (n.run_id, n.resolver, n.mode, n.campaign, n.vantage, n.server_name, n.qtype, n.outcome,
      n.rcode, n.via_tcp, n.authoritative)
     IS NOT DISTINCT FROM (o.run_id, c.resolver, c.mode, c.campaign, c.vantage, c.server_name,
                           o.qtype, o.outcome, o.rcode, o.via_tcp, o.authoritative)
LEFT JOIN watchlist w ON w.domain_id = o.domain_id;

-- --- the swap ---------------------------------------------------------------------------

DROP TABLE observations, probe_contexts, answer_sets, answer_set_records CASCADE;
-- The schema-12 summary stays until the view below is there to compare it with.
DROP VIEW domain_addresses;
ALTER TABLE domain_address_seen RENAME TO domain_address_seen_12;

ALTER TABLE probe_contexts_13 RENAME TO probe_contexts;
ALTER TABLE answer_sets_13 RENAME TO answer_sets;
ALTER INDEX answer_sets_13_pkey RENAME TO answer_sets_pkey;
ALTER TABLE observations_13 RENAME TO observations;
ALTER TABLE observations_default_13 RENAME TO observations_default;
DO $$
DECLARE
  part record;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'observations'::regclass AND c.relname LIKE '%\_13'
  LOOP
    EXECUTE format('ALTER TABLE %I RENAME TO %I', part.relname,
                   left(part.relname, length(part.relname) - 3));
  END LOOP;
END
$$;
ALTER TABLE probe_contexts RENAME CONSTRAINT probe_contexts_13_pkey TO probe_contexts_pkey;
-- One index: a domain's history. B-tree deduplication keeps one key per domain and page
-- with a posting list of its probes. Time ranges select partitions; "newest first" sorts
-- a domain's rows (a few per round).
CREATE INDEX observations_domain_idx ON observations (domain_id);

COMMENT ON TABLE probe_contexts IS
  'What the probes of a run share: server asked, mode, campaign, vantage, NS name, query '
  'type, outcome, RCODE, TCP and AA bit; stored once per distinct combination and referenced '
  'by observations.context_id. Empty text means "none" (NULL in the probes view).';
COMMENT ON TABLE answer_sets IS
  'Each distinct answer a domain got (all records of the answer, authority and additional '
  'sections, TTLs aside), stored once, with its summary (first/last seen, times seen, '
  'smallest TTLs). Its records are in answer_set_records.';
COMMENT ON COLUMN answer_sets.domain_id IS 'The watched domain; 0 for names not on the watchlist.';
COMMENT ON COLUMN answer_sets.answer_set_id IS
  'Bytes 1-8 of the SHA-256 of the canonical form (migration 0009) as a signed integer.';
COMMENT ON COLUMN answer_sets.digest_check IS
  'Bytes 9-16 of that SHA-256: with answer_set_id a 128-bit content address; a writer '
  'finding another value under the same id refuses the batch.';
COMMENT ON COLUMN answer_sets.ttl_shape IS
  'Hash of the TTL offsets (answer_set_records.ttl_offset in record order): a probe with the '
  'same shape stores only its smallest TTL.';
COMMENT ON COLUMN answer_sets.first_seen IS 'sent_at of the first probe that got this set.';
COMMENT ON COLUMN answer_sets.last_seen IS 'sent_at of the newest probe that got it.';
COMMENT ON COLUMN answer_sets.times_seen IS
  'How many probes got it (of the domain, or of names not watched for domain 0); survives '
  'retention.';
COMMENT ON COLUMN answer_sets.min_ttl IS
  'Smallest observations.ttl of those probes whose TTLs were the set''s offsets shifted '
  '(NULL if none): a record''s smallest TTL there is min_ttl + ttl_offset.';
COMMENT ON COLUMN answer_sets.min_ttls IS
  'Per record (ord + 1), the smallest TTL of the other probes (observations.ttls set); NULL '
  'if none.';
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
COMMENT ON COLUMN observations.context_id IS
  'probe_contexts: run, resolver, mode, campaign, query type, outcome, RCODE, ...';
COMMENT ON COLUMN observations.qname IS
  'The name asked; NULL when it is the watched domain''s own name (watchlist.domain).';
COMMENT ON TABLE observations_default IS
  'Observations outside every daily partition (a safety net; normally empty).';

-- --- the summary and the views (same names, same columns) --------------------------------

CREATE VIEW answer_set_records AS
SELECT e.domain_id, e.answer_set_id, e.ord,
       CASE e.section WHEN 'a' THEN 'answer' WHEN 'u' THEN 'authority' ELSE 'additional' END
         AS section,
       coalesce(e.owner, w.domain) AS owner, e.rtype, e.ttl_offset, e.address, e.target
FROM answer_set_entries e
LEFT JOIN watchlist w ON w.domain_id = e.domain_id AND e.owner IS NULL;
COMMENT ON VIEW answer_set_records IS
  'The records of each answer set, in canonical order (ord from 0), with the columns of the '
  'answer_set_records table of schema 9. Stored in answer_set_entries.';

CREATE VIEW domain_address_seen AS
SELECT domain_id, address, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       sum(times_seen)::bigint AS times_seen, min(min_ttl)::bigint AS min_ttl
FROM (SELECT s.domain_id, r.address, s.first_seen, s.last_seen, s.times_seen,
             min(least(s.min_ttl + r.ttl_offset, s.min_ttls[r.ord + 1])) AS min_ttl
      FROM answer_sets s JOIN answer_set_entries r USING (domain_id, answer_set_id)
      WHERE s.domain_id <> 0 AND s.times_seen > 0 AND r.section = 'a'
        AND r.rtype IN ('A', 'AAAA') AND r.address IS NOT NULL
      GROUP BY s.domain_id, s.answer_set_id, r.address
      UNION ALL
      SELECT domain_id, address, first_seen, last_seen, times_seen, min_ttl
      FROM domain_address_seen_carried) per_set
GROUP BY domain_id, address;
COMMENT ON VIEW domain_address_seen IS
  'Each address a watched domain resolved to (A/AAAA in the answer section): first and last '
  'seen, in how many probes, smallest TTL. Summed from the counters of the domain''s answer '
  'sets (answer_sets), which the writer keeps in the transaction of the probes; stays when '
  'old observations are pruned (storage.retention_days).';

-- What the schema-12 summary knows beyond the sets' counters (probes pruned before the
-- upgrade): carried over, so that the view gives exactly the old rows.
INSERT INTO domain_address_seen_carried (domain_id, address, first_seen, last_seen, times_seen,
                                         min_ttl)
SELECT o.domain_id, o.address, o.first_seen, o.last_seen,
       o.times_seen - coalesce(d.times_seen, 0), o.min_ttl
FROM domain_address_seen_12 o
LEFT JOIN domain_address_seen d USING (domain_id, address)
WHERE d.domain_id IS NULL OR (o.first_seen, o.last_seen, o.times_seen, o.min_ttl)
                             IS DISTINCT FROM (d.first_seen, d.last_seen, d.times_seen, d.min_ttl);
DROP TABLE domain_address_seen_12;

CREATE VIEW probes AS
SELECT o.probe_id, c.run_id, o.domain_id, coalesce(o.qname, w.domain) AS qname, c.qtype,
       c.resolver, o.sent_at, o.latency_us, c.outcome, c.rcode, c.via_tcp, o.detail,
       c.authoritative, o.due_at, NULLIF(c.campaign, '') AS campaign,
       NULLIF(c.vantage, '') AS vantage, c.mode, NULLIF(c.server_name, '') AS server_name
FROM observations o JOIN probe_contexts c USING (context_id)
LEFT JOIN watchlist w ON w.domain_id = o.domain_id;
COMMENT ON VIEW probes IS
  'Every DNS query fluxwatch sent, with exactly the columns of the probes table of schema 8 '
  '(so that queries joining records USING (probe_id) stay unambiguous). Stored in '
  'observations and probe_contexts.';

CREATE VIEW records AS
SELECT o.probe_id, r.section, r.owner, r.rtype,
       coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl, r.address, r.target
FROM observations o
JOIN answer_set_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id;
COMMENT ON VIEW records IS
  'Resource records of each probe''s answer, authority and additional sections, with the '
  'columns of the records table of schema 8. Stored once per answer set.';

CREATE VIEW answers AS
SELECT w.domain, o.domain_id, o.probe_id, c.run_id, coalesce(o.qname, w.domain) AS qname,
       c.qtype, c.resolver, o.sent_at, c.outcome, NULLIF(c.campaign, '') AS campaign, r.owner,
       r.rtype, coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl, r.address, r.target,
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
  'Join address_info for its ASN and country. Kept as probes are written (answer_sets).';

CREATE VIEW ns_set_history AS
SELECT w.domain, o.domain_id, o.probe_id, c.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, NULLIF(c.vantage, '') AS vantage, c.resolver,
       c.outcome, ns.zone, ns.ns_names, ns.ttl, ns.section
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
WHERE c.mode = 'delegation' AND c.qtype = 'NS';
COMMENT ON VIEW ns_set_history IS
  'Each NS-set lookup of authoritative probing (one per domain and round): the zone, its '
  'sorted NS names and their smallest TTL (section: answer, or authority for a referral). '
  'ns_names is NULL when the lookup failed (see outcome).';

CREATE VIEW soa_serial_history AS
SELECT w.domain, o.domain_id, o.probe_id, c.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, coalesce(o.qname, w.domain) AS zone,
       NULLIF(c.server_name, '') AS server_name, c.resolver, c.outcome,
       coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl,
       CASE WHEN split_part(r.target, ' ', 3) ~ '^[0-9]{1,10}$'
            THEN split_part(r.target, ' ', 3)::bigint END AS serial,
       r.target AS soa
FROM observations o
JOIN probe_contexts c USING (context_id)
JOIN answer_set_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id
 AND r.section = 'answer' AND r.rtype = 'SOA'
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
WHERE c.mode = 'authoritative' AND c.qtype = 'SOA';
COMMENT ON VIEW soa_serial_history IS
  'The SOA serial of the zone as each of its name servers (server_name, resolver) answered '
  'it, every round. Name servers of one zone with different serials in one round: the zone '
  'changes, or its servers serve different data.';

CREATE VIEW authoritative_answer_sets AS
SELECT w.domain, o.domain_id, o.probe_id, c.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, NULLIF(c.vantage, '') AS vantage,
       coalesce(o.qname, w.domain) AS qname, c.qtype, NULLIF(c.server_name, '') AS server_name,
       c.resolver, c.outcome, c.authoritative,
       coalesce((SELECT array_agg(DISTINCT coalesce(host(r.address), r.target)
                                  ORDER BY coalesce(host(r.address), r.target))
                 FROM answer_set_records r
                 WHERE r.domain_id = coalesce(o.domain_id, 0)
                   AND r.answer_set_id = o.answer_set_id AND r.section = 'answer'
                   AND r.rtype = c.qtype), '{}') AS answer_set
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
