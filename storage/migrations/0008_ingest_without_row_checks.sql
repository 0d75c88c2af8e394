-- 0008_ingest_without_row_checks: drop the foreign keys that PostgreSQL checks once per row
-- on the write path of every probe (records -> probes, probes -> watchlist, probes ->
-- probe_runs). Each is a per-row trigger running an index lookup; on a probe round of
-- 100,000 names (600,000 rows) they were 70% of the COPY time (bench/run.sh,
-- docs/performance.md: 16.6 s with them, 4.8 s without).
-- Integrity is kept by the only writer (storage::Database::store): it allocates the probe
-- ids and writes a batch's probes and records in one transaction, takes domain ids from the
-- watchlist and run ids from begin_run(). fluxwatch never deletes probes or watched domains,
-- so ON DELETE CASCADE of records had no user. The indexes stay (the joins use them).
ALTER TABLE records DROP CONSTRAINT IF EXISTS records_probe_id_fkey;
ALTER TABLE probes DROP CONSTRAINT IF EXISTS probes_domain_id_fkey;
ALTER TABLE probes DROP CONSTRAINT IF EXISTS probes_run_id_fkey;
COMMENT ON COLUMN records.probe_id IS
  'The probe this record answered (probes.probe_id; written in the same transaction, not '
  'checked by a foreign key: see migration 0008).';
