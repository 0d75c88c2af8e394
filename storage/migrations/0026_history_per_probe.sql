-- 0026_history_per_probe: one domain's history (the `answers` view) plans in half the time and
-- joins each probe's set records apart (issue 12: one domain's history <= 10 ms at 50M probes,
-- robustly under load; figures in docs/performance.md, "History at 50M on schema 26").
-- Measured at 50M probes (bench/sql-bench.sh 500000 100, a flux domain: 100 probes, 360 address
-- records), `domain-history` of docs/queries.md spent about as much CPU planning as executing:
-- `answers` flattened into one join of seven relations (observations and its partitions,
-- probe_contexts, answer_set_contents, the unnest, addresses, watchlist twice), and PostgreSQL
-- searched every join order of them (1.3-1.7 ms of planning a query). It also estimated the
-- join of the probes with their sets on two columns at one row, so probe_contexts was scanned
-- whole for each probe (50 rows compared per probe, 5,050 per query). Now:
--   answers  the same columns and rows. A probe's answer-section records are a LATERAL subquery
--            (the set by its primary key, its arrays unnested, each address by the hash index
--            of 0020), planned apart (OFFSET 0 keeps it a subquery): the outer join has four
--            relations (observations, probe_contexts, watchlist, the records), so it plans in
--            about half the time, its row estimates stay right (a probe_contexts primary-key
--            look-up per probe), and the owner's name comes from the one watchlist join (a
--            NULL owner element is the watched domain's own name; a name not watched has no
--            watchlist row either way).
-- Whole-table reads of answers (a filter on owner, address or rtype only) become a scan of the
-- probes with this subquery per probe instead of a hash join of the probes with every set, and
-- run without parallel workers (PostgreSQL 15 does not run a subquery with parameters from a
-- LATERAL reference in a worker): at 1M probes a count over every address record took the same
-- time within the load's noise (8.1-11.1 s against 7.1-12.5 s, load 7-9).

CREATE OR REPLACE VIEW answers AS
SELECT w.domain, o.domain_id, o.probe_id, c.run_id, coalesce(o.qname, w.domain) AS qname,
       c.qtype, c.resolver, o.sent_at, c.outcome, NULLIF(c.campaign, '') AS campaign,
       coalesce(r.owner, w.domain) AS owner, r.rtype,
       coalesce(o.ttls[r.k], coalesce(o.ttl, r.set_ttl) + r.ttl_offset) AS ttl, r.address,
       r.target, i.asn, i.as_org, i.country, i.city, i.latitude, i.longitude
FROM observations o
JOIN probe_contexts c USING (context_id)
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
CROSS JOIN LATERAL (
  SELECT u.k, u.owner,
         coalesce(u.rtype, CASE family(a.address) WHEN 4 THEN 'A' ELSE 'AAAA' END) AS rtype,
         coalesce(u.ttl_offset, 0) AS ttl_offset, a.address, u.target, s.ttl AS set_ttl
  FROM answer_set_contents s
  CROSS JOIN LATERAL unnest(s.rtypes, s.owners, s.ttl_offsets, s.address_ids, s.targets)
           WITH ORDINALITY AS u(rtype, owner, ttl_offset, address_id, target, k)
  LEFT JOIN addresses a ON a.address_id = u.address_id
  WHERE s.domain_id = coalesce(o.domain_id, 0) AND s.answer_set_id = o.answer_set_id
  OFFSET 0  -- planned apart: see the header
) r
LEFT JOIN address_geo_newest i ON i.address = r.address;

COMMENT ON VIEW set_answer_records IS
  'The answer-section records of each answer set (set_records WHERE section = ''answer'', '
  'without the shared part). The answers view unpacks the same arrays per probe (0026).';
