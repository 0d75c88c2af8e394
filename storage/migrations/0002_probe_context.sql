-- Context of a probe beyond the DNS exchange itself: whether the answer was authoritative,
-- and, for scheduled probes, when the probe was due, for which campaign and from which
-- vantage point. All nullable: probes from `fluxwatch probe` have no schedule.
ALTER TABLE probes
  ADD COLUMN authoritative boolean,
  ADD COLUMN due_at        timestamptz,
  ADD COLUMN campaign      text,
  ADD COLUMN vantage       text;

COMMENT ON COLUMN probes.authoritative IS
  'AA bit of the answer (RFC 1035 4.1.1); NULL when no answer was received. An answer from a '
  'domain''s own name server without it is "lame".';
COMMENT ON COLUMN probes.due_at IS
  'When the scheduler wanted this probe sent; sent_at - due_at is its lateness. NULL for '
  'one-off probes.';
COMMENT ON COLUMN probes.campaign IS 'Campaign that scheduled the probe (NULL for one-off probes).';
COMMENT ON COLUMN probes.vantage IS 'Vantage-point label of the prober (where it was sent from).';
