-- 0003_scheduler: the continuous scheduler's per-domain state (fluxwatch run). One row per
-- (campaign, watched domain): when it is next due, the adaptive state, and which worker
-- holds it under a lease. PostgreSQL is the source of truth, so a restarted worker resumes
-- where the last one stopped and any number of workers share the work.
CREATE TABLE schedule (
  campaign    text NOT NULL,
  domain_id   bigint NOT NULL REFERENCES watchlist ON DELETE CASCADE,
  next_due    timestamptz NOT NULL,
  interval_ms integer NOT NULL DEFAULT 0,
  stable_runs smallint NOT NULL DEFAULT 0,
  answer_hash bigint,
  last_sent   timestamptz,
  lease_owner text,
  lease_until timestamptz,
  PRIMARY KEY (campaign, domain_id)
);
CREATE INDEX schedule_due_idx ON schedule (campaign, next_due);
CREATE INDEX schedule_lease_idx ON schedule (lease_owner) WHERE lease_owner IS NOT NULL;

COMMENT ON TABLE schedule IS
  'Per campaign and watched domain: when fluxwatch run probes it next, and which worker holds '
  'it. Rows are taken in batches with FOR UPDATE SKIP LOCKED under a lease; a probe and its '
  'schedule update are committed in one transaction.';
COMMENT ON COLUMN schedule.next_due IS 'When the domain is due next (TTL-aware, with jitter).';
COMMENT ON COLUMN schedule.interval_ms IS 'The interval that gave next_due (0 before the first probe).';
COMMENT ON COLUMN schedule.stable_runs IS
  'Consecutive probes whose answers equalled the previous ones; each doubles the interval up '
  'to the campaign''s max_interval. A change resets it to 0.';
COMMENT ON COLUMN schedule.answer_hash IS
  'Order-independent hash of the last probe''s answer records (type and data, no TTL).';
COMMENT ON COLUMN schedule.lease_owner IS
  'Worker id (host:pid:random) holding the row; NULL when free.';
COMMENT ON COLUMN schedule.lease_until IS
  'The lease ends then; after that any worker may take the row (a dead worker''s domains are '
  'taken over).';
