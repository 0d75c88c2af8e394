-- 0012_probe_runs_kinds: the table comment of probe_runs (0001) named a "crawl" kind that
-- never existed. Migrations already applied are never edited: the comment is set again here.
COMMENT ON TABLE probe_runs IS
  'One row per run: kind is ''probe'' (fluxwatch probe, one row per round), ''run'' or '
  '''run-once'' (fluxwatch run, one row per worker and campaign), or a benchmark''s own '
  'name; with its effective settings and, once finished, its totals. finished_at is NULL '
  'for runs that are still going or were interrupted.';
COMMENT ON COLUMN probe_runs.kind IS
  'What started the run: probe, run, run-once (or a benchmark''s name).';
