-- 0007_query_paths: index paths for the point queries of docs/queries.md at tens of millions
-- of rows (docs/performance.md, "Research queries"): the newest score of one domain without
-- reading every domain's scores, and one address across domains without visiting the
-- records table.
-- Building the covering index reads every record once: on a large database this migration
-- takes minutes (about 1 minute per 10M records on 2 cores) and blocks writers meanwhile.

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

-- One address across domains (domain_addresses, answers WHERE address = ...): the records of
-- an address are scattered over the whole table (one per probe that saw it), so the old
-- index cost one random heap page per record. Carrying the columns those views read makes
-- it an index-only scan; the probes are then found through their primary key.
CREATE INDEX records_address_cover_idx ON records (address)
  INCLUDE (probe_id, section, rtype, ttl) WHERE address IS NOT NULL;
DROP INDEX records_address_idx;
