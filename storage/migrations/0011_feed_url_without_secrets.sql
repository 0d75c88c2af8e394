-- 0011_feed_url_without_secrets: no credential from the config in any table (issue 17.10).
-- feeds.url held the configured URL as written, userinfo and query tokens included, and
-- the read-only role can read it. From now on it holds the redacted URL (as `feeds list`
-- shows it: no userinfo, every query value replaced by "...") and the feed is identified
-- by url_digest: the SHA-256 of a per-database random salt and the full URL. The salt is
-- kept from fluxwatch_reader, so a weak password cannot be guessed back from the digest.
-- The salt lives in a schema of its own: grants on "all tables in schema public" (the
-- reader role's, 0004, and any later one) never reach it, and PUBLIC has no USAGE on it.
CREATE SCHEMA fluxwatch_private;
REVOKE ALL ON SCHEMA fluxwatch_private FROM PUBLIC;
COMMENT ON SCHEMA fluxwatch_private IS
  'What fluxwatch needs and the read-only role must not see (fluxwatch_reader has no USAGE).';
CREATE TABLE fluxwatch_private.feed_url_salt (
  salt text NOT NULL DEFAULT gen_random_uuid()::text
);
INSERT INTO fluxwatch_private.feed_url_salt DEFAULT VALUES;
COMMENT ON TABLE fluxwatch_private.feed_url_salt IS 'One random salt for feeds.url_digest.';

ALTER TABLE feeds ADD COLUMN url_digest text;
UPDATE feeds SET url_digest =
  encode(sha256(convert_to((SELECT salt FROM fluxwatch_private.feed_url_salt) || url, 'UTF8')), 'hex');
-- The same redaction as fluxwatch's redact_url(): userinfo out, query values "...".
UPDATE feeds SET url = regexp_replace(
  regexp_replace(url, '^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@', '\1'),
  '([?&][^=&]*)=[^&]*', '\1=...', 'g');
ALTER TABLE feeds ALTER COLUMN url_digest SET NOT NULL;
-- Two configured URLs that differ only in a secret redact to the same text: url is no
-- longer unique, the digest is.
ALTER TABLE feeds DROP CONSTRAINT feeds_url_key;
ALTER TABLE feeds ADD CONSTRAINT feeds_url_digest_key UNIQUE (url_digest);
CREATE INDEX feeds_url_idx ON feeds (url);
COMMENT ON COLUMN feeds.url IS
  'The feed''s URL without credentials: no userinfo, every query value shown as "...".';
COMMENT ON COLUMN feeds.url_digest IS
  'SHA-256 (hex) of fluxwatch_private.feed_url_salt and the URL as configured: the feed''s '
  'identity.';
