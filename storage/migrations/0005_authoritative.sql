-- 0005_authoritative: authoritative probing (campaign `mode: authoritative`, `fluxwatch
-- probe --authoritative`) and multi-resolver probing. A probe now says why it was sent
-- (mode) and, when it asked one of the domain's own name servers, which one (server_name);
-- LAME is the outcome of such a server that does not answer authoritatively. Views show the
-- NS set and SOA serial over time and where a domain's name servers disagree.

-- In its own statement: a new enum value cannot be used in the transaction that adds it,
-- so nothing below names 'LAME'.
ALTER TYPE dns_outcome ADD VALUE IF NOT EXISTS 'LAME';
COMMENT ON TYPE dns_outcome IS
  'What one probe measured: NOERROR = records of the asked type (after CNAMEs), NODATA = '
  'RCODE 0 without them, NXDOMAIN/SERVFAIL/REFUSED/FORMERR/OTHER_RCODE = that RCODE, '
  'TIMEOUT/CONNREFUSED/MALFORMED/NETERROR = no usable answer, LAME = one of the domain''s '
  'own name servers, asked directly, answered without the AA bit (e.g. a referral) or '
  'REFUSED (rcode keeps the RCODE).';

ALTER TABLE probes
  ADD COLUMN mode text NOT NULL DEFAULT 'recursive'
    CHECK (mode IN ('recursive', 'authoritative', 'delegation')),
  ADD COLUMN server_name text;
COMMENT ON COLUMN probes.mode IS
  'Why the probe was sent: recursive = asked a recursive resolver; delegation = finding the '
  'domain''s NS set and the name servers'' addresses (through the resolvers); authoritative '
  '= asked one of the domain''s name servers directly, RD=0 (resolver = its address:port, '
  'server_name = its NS name).';
COMMENT ON COLUMN probes.server_name IS
  'Authoritative probes: the NS name whose address `resolver` is; NULL otherwise.';
COMMENT ON COLUMN probes.resolver IS
  'ip:port ([v6]:port) of the server that was asked: a recursive resolver, or for mode '
  'authoritative the name server''s address.';

-- --- views ------------------------------------------------------------------------------

-- The NS set of every delegation lookup: from the answer (the name is a zone apex) or from
-- the authority section of a referral.
CREATE VIEW ns_set_history AS
SELECT w.domain, p.domain_id, p.probe_id, p.run_id, p.due_at, p.sent_at, p.campaign,
       p.vantage, p.resolver, p.outcome, ns.zone, ns.ns_names, ns.ttl, ns.section
FROM probes p
LEFT JOIN watchlist w ON w.domain_id = p.domain_id
LEFT JOIN LATERAL (
  SELECT r.section, min(r.owner) AS zone,
         array_agg(DISTINCT r.target ORDER BY r.target) AS ns_names, min(r.ttl) AS ttl
  FROM records r
  WHERE r.probe_id = p.probe_id AND r.rtype = 'NS' AND r.section IN ('answer', 'authority')
  GROUP BY r.section
  ORDER BY r.section  -- 'answer' before 'authority'
  LIMIT 1
) ns ON true
WHERE p.mode = 'delegation' AND p.qtype = 'NS';
COMMENT ON VIEW ns_set_history IS
  'Each NS-set lookup of authoritative probing (one per domain and round): the zone, its '
  'sorted NS names and their smallest TTL (section: answer, or authority for a referral). '
  'ns_names is NULL when the lookup failed (see outcome).';

-- The SOA serial each name server gave, per round.
CREATE VIEW soa_serial_history AS
SELECT w.domain, p.domain_id, p.probe_id, p.run_id, p.due_at, p.sent_at, p.campaign,
       p.qname AS zone, p.server_name, p.resolver, p.outcome, r.ttl,
       CASE WHEN split_part(r.target, ' ', 3) ~ '^[0-9]{1,10}$'
            THEN split_part(r.target, ' ', 3)::bigint END AS serial,
       r.target AS soa
FROM probes p
JOIN records r ON r.probe_id = p.probe_id AND r.section = 'answer' AND r.rtype = 'SOA'
LEFT JOIN watchlist w ON w.domain_id = p.domain_id
WHERE p.mode = 'authoritative' AND p.qtype = 'SOA';
COMMENT ON VIEW soa_serial_history IS
  'The SOA serial of the zone as each of its name servers (server_name, resolver) answered '
  'it, every round. Name servers of one zone with different serials in one round: the zone '
  'changes, or its servers serve different data.';

-- One row per authoritative probe with its answer set (sorted addresses / targets).
CREATE VIEW authoritative_answer_sets AS
SELECT w.domain, p.domain_id, p.probe_id, p.run_id, p.due_at, p.sent_at, p.campaign,
       p.vantage, p.qname, p.qtype, p.server_name, p.resolver, p.outcome, p.authoritative,
       coalesce((SELECT array_agg(DISTINCT coalesce(host(r.address), r.target)
                                  ORDER BY coalesce(host(r.address), r.target))
                 FROM records r
                 WHERE r.probe_id = p.probe_id AND r.section = 'answer'
                   AND r.rtype = p.qtype), '{}') AS answer_set
FROM probes p
LEFT JOIN watchlist w ON w.domain_id = p.domain_id
WHERE p.mode = 'authoritative';
COMMENT ON VIEW authoritative_answer_sets IS
  'Each answer of a domain''s own name server (mode authoritative) with the sorted set of '
  'answer records of the asked type (addresses, or targets / SOA text).';

-- Per domain, round and query: the name servers whose answers differ.
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

-- (fluxwatch_reader reads these views through 0004's default privileges.)
