-- 0013_watchlist_removal: `fluxwatch watchlist remove` stops watching a domain without
-- losing its history (probes keep referring to it). A re-import watches it again.
ALTER TABLE watchlist ADD COLUMN removed_at timestamptz;
COMMENT ON COLUMN watchlist.removed_at IS
  'When `fluxwatch watchlist remove` stopped watching the domain (NULL: watched). Its probes '
  'and scores are kept; a later import clears this.';

-- Campaign schedules no longer hold removed domains.
DELETE FROM schedule s USING watchlist w
WHERE w.domain_id = s.domain_id AND w.removed_at IS NOT NULL;
