-- 0017_soa_fields: the fields of a stored SOA record, parsed in one place. An SOA's RDATA is
-- stored as the crawler's text, "mname rname serial refresh retry expire minimum" (records /
-- answer_set_records.target); soa_serial_history split it again with split_part. The
-- answer-set tables keep their shape (the storage work reshapes them; typed columns there
-- would have to follow it), so the fields come from this function over the stored text, by
-- the rule of the C++ reader (SoaRecord::parse, common/soa_record.h): exactly seven
-- space-separated fields, the last five decimal numbers of at most 10 digits and at most
-- 2^32 - 1. Every field is NULL for any other text.
CREATE FUNCTION soa_fields(soa text, OUT mname text, OUT rname text, OUT serial bigint,
                           OUT refresh bigint, OUT retry bigint, OUT expire bigint,
                           OUT minimum bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT f[1], f[2], f[3]::bigint, f[4]::bigint, f[5]::bigint, f[6]::bigint, f[7]::bigint
  FROM (SELECT string_to_array(soa, ' ') AS f) AS split
  WHERE cardinality(f) = 7
    AND array_to_string(f[3:7], ' ') ~ '^([0-9]{1,10} ){4}[0-9]{1,10}$'
    AND (SELECT bool_and(n::bigint <= 4294967295) FROM unnest(f[3:7]) AS n)
$$;
COMMENT ON FUNCTION soa_fields(text) IS
  'The fields of a stored SOA record''s text (mname rname serial refresh retry expire '
  'minimum); all NULL when the text is not in that shape. E.g. (soa_fields(target)).serial.';

-- The same view as in 0009, its serial read through soa_fields().
CREATE OR REPLACE VIEW soa_serial_history AS
SELECT w.domain, o.domain_id, o.probe_id, o.run_id, o.due_at, o.sent_at,
       NULLIF(c.campaign, '') AS campaign, o.qname AS zone, NULLIF(c.server_name, '') AS server_name,
       c.resolver, o.outcome, coalesce(o.ttls[r.ord + 1], o.ttl + r.ttl_offset) AS ttl,
       (soa_fields(r.target)).serial AS serial,
       r.target AS soa
FROM observations o
JOIN probe_contexts c USING (context_id)
JOIN answer_set_records r
  ON r.domain_id = coalesce(o.domain_id, 0) AND r.answer_set_id = o.answer_set_id
 AND r.section = 'answer' AND r.rtype = 'SOA'
LEFT JOIN watchlist w ON w.domain_id = o.domain_id
WHERE c.mode = 'authoritative' AND o.qtype = 'SOA';
