-- 0020_history_reads: one domain's history (the `answers` view) reads fewer pages per record
-- (issue 12: one domain's history <= 10 ms at 50M probes; figures in docs/performance.md,
-- "At scale on schemas 14-15"). Measured at 50M probes (bench/sql-bench.sh 500000 100, a flux
-- domain: 100 probes, 360 address records), `domain-history` of docs/queries.md read 2,115
-- buffers, 1,440 of them in `addresses`: one B-tree descent of its primary key (3 levels at
-- 2M addresses) plus the heap page per address record, because the packed sets hold address
-- ids. Now:
--   addresses_id_hash_idx  a hash index on addresses.address_id: an equality look-up reads
--                          one bucket page (the metapage is cached) and the heap page, 2
--                          pages instead of 4, at any number of addresses. It grows with new
--                          addresses only (not with probes): 33 bytes an address at 2M;
--   set_answer_records     the answer section of a set only (no shared part, no UNION ALL):
--                          what `answers` reads, so a probe no longer probes shared_parts;
--   answers                the same columns and rows, over set_answer_records.
-- Tried and left out: joining the probes to the domain's sets by domain (one range scan of
-- answer_set_contents, a hash join on the set id): the planner keeps the per-probe primary-key
-- look-up at 50M and at 1M chose a nested loop that scanned the domain's probes once per set.

CREATE INDEX addresses_id_hash_idx ON addresses USING hash (address_id);

-- The answer-section records of a set: set_records' rows with section 'answer', unpacked from
-- the set's own arrays only.
CREATE VIEW set_answer_records AS
SELECT c.domain_id, c.answer_set_id, (u.k - 1)::integer AS ord,
       coalesce(u.owner, w.domain) AS owner,
       coalesce(u.rtype, CASE family(a.address) WHEN 4 THEN 'A' ELSE 'AAAA' END) AS rtype,
       coalesce(u.ttl_offset, 0) AS ttl_offset, a.address, u.target, c.ttl AS set_ttl
FROM answer_set_contents c
CROSS JOIN LATERAL unnest(c.rtypes, c.owners, c.ttl_offsets, c.address_ids, c.targets)
         WITH ORDINALITY AS u(rtype, owner, ttl_offset, address_id, target, k)
LEFT JOIN addresses a ON a.address_id = u.address_id
LEFT JOIN watchlist w ON w.domain_id = c.domain_id AND u.owner IS NULL AND c.domain_id <> 0;
COMMENT ON VIEW set_answer_records IS
  'The answer-section records of each answer set (set_records WHERE section = ''answer'', '
  'without the shared part): what the answers view reads.';

CREATE OR REPLACE VIEW answers AS
SELECT w.domain, o.domain_id, o.probe_id, c.run_id, coalesce(o.qname, w.domain) AS qname,
       c.qtype, c.resolver, o.sent_at, c.outcome, NULLIF(c.campaign, '') AS campaign, r.owner,
       r.rtype, coalesce(o.ttls[r.ord + 1], coalesce(o.ttl, r.set_ttl) + r.ttl_offset) AS ttl,
       r.address, r.target, i.asn, i.as_org, i.country, i.city, i.latitude, i.longitude
FROM observations o
JOIN probe_contexts c USING (context_id)
JOIN set_answer_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
LEFT JOIN address_geo_newest i ON i.address = r.address;
