-- 0006_feeds_http: watchlist feeds (state of each feed, and which domains each feed listed
-- when), and HTTP probes of flux agents, plus two scoring features as views.

CREATE TABLE feeds (
  feed_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url                  text NOT NULL UNIQUE,
  format               text NOT NULL DEFAULT 'plain' CHECK (format IN ('plain', 'csv', 'jsonl')),
  column_name          text,
  tag                  text,
  refresh_seconds      integer,
  etag                 text,
  last_modified        text,
  last_attempt_at      timestamptz,
  last_success_at      timestamptz,
  last_changed_at      timestamptz,
  last_status          integer,
  last_error           text,
  consecutive_failures integer NOT NULL DEFAULT 0,
  entries              integer,
  created_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE feeds IS
  'Watchlist feeds (config feeds: and `fluxwatch watchlist import URL`) and the state of their '
  'last fetch. A failed fetch keeps the previous listing.';
COMMENT ON COLUMN feeds.etag IS 'ETag of the last 200 response, sent back as If-None-Match.';
COMMENT ON COLUMN feeds.last_modified IS
  'Last-Modified of the last 200 response, sent back as If-Modified-Since.';
COMMENT ON COLUMN feeds.last_success_at IS 'Last fetch that gave 200 or 304 (NULL: never).';
COMMENT ON COLUMN feeds.last_changed_at IS 'Last fetch whose content was imported (a 200).';
COMMENT ON COLUMN feeds.last_status IS 'HTTP status of the last attempt (0: no response).';
COMMENT ON COLUMN feeds.last_error IS 'Why the last attempt failed; NULL after a success.';
COMMENT ON COLUMN feeds.entries IS 'Valid domains in the last imported version.';

-- One row per period in which a feed listed a domain. A domain that disappears from the
-- feed gets delisted_at; if it comes back, a new period starts. Nothing is deleted.
CREATE TABLE watchlist_listing (
  feed_id     bigint NOT NULL REFERENCES feeds,
  domain_id   bigint NOT NULL REFERENCES watchlist,
  listed_at   timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL,
  delisted_at timestamptz,
  CHECK (delisted_at IS NULL OR delisted_at >= listed_at)
);
CREATE UNIQUE INDEX watchlist_listing_open_idx ON watchlist_listing (feed_id, domain_id)
  WHERE delisted_at IS NULL;
CREATE INDEX watchlist_listing_domain_idx ON watchlist_listing (domain_id);
COMMENT ON TABLE watchlist_listing IS
  'Which feed listed which domain, when: one row per listing period. delisted_at is set when '
  'a fetch of the feed no longer lists the domain (NULL: listed now).';
COMMENT ON COLUMN watchlist_listing.last_seen IS 'Last fetch (200 or 304) that listed it.';

-- A domain that some feed listed, but no feed lists any more.
CREATE VIEW watchlist_delisted AS
SELECT l.domain_id, w.domain, max(l.delisted_at) AS delisted_at
FROM watchlist_listing l JOIN watchlist w USING (domain_id)
GROUP BY l.domain_id, w.domain
HAVING bool_and(l.delisted_at IS NOT NULL);
COMMENT ON VIEW watchlist_delisted IS
  'Domains that feeds listed once but none lists now, with when the last feed dropped them.';

CREATE TABLE http_probes (
  http_probe_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id     bigint REFERENCES watchlist,
  domain        text NOT NULL,
  address       inet NOT NULL,
  url           text NOT NULL,
  started_at    timestamptz NOT NULL,
  connect_us    bigint,
  ttfb_us       bigint,
  total_us      bigint,
  status        smallint,
  server        text,
  content_type  text,
  location      text,
  body_length   bigint,
  body_truncated boolean NOT NULL DEFAULT false,
  body_sha256   text CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
  error         text,
  campaign      text
);
CREATE INDEX http_probes_domain_idx ON http_probes (domain_id, started_at);
CREATE INDEX http_probes_domain_address_idx ON http_probes (domain_id, address);
CREATE INDEX http_probes_hash_idx ON http_probes (body_sha256) WHERE body_sha256 IS NOT NULL;
COMMENT ON TABLE http_probes IS
  'HTTP fetches of http(s)://DOMAIN/ pinned to one address the domain resolved to (opt-in, '
  'http_probe.enabled): timings, status, a few headers and a hash of the body.';
COMMENT ON COLUMN http_probes.connect_us IS
  'Microseconds until the TCP connection (and TLS, for https) was up; NULL if it never was.';
COMMENT ON COLUMN http_probes.ttfb_us IS 'Microseconds until the first byte of the response.';
COMMENT ON COLUMN http_probes.total_us IS 'Microseconds for the whole transfer.';
COMMENT ON COLUMN http_probes.status IS 'HTTP status code; NULL when no response arrived.';
COMMENT ON COLUMN http_probes.body_length IS
  'Bytes of body received (at most http_probe.max_body_bytes).';
COMMENT ON COLUMN http_probes.body_truncated IS
  'The body was longer than http_probe.max_body_bytes: length and hash cover the prefix.';
COMMENT ON COLUMN http_probes.body_sha256 IS 'SHA-256 of the (decoded) body, lower-case hex.';
COMMENT ON COLUMN http_probes.error IS 'libcurl''s error for failed fetches, else NULL.';

-- Scoring feature: the same page served from many distinct addresses (flux agents proxying
-- one mothership). For each domain, the body hash served by the most distinct addresses.
CREATE VIEW http_same_body_addresses AS
SELECT DISTINCT ON (domain_id) domain_id, body_sha256, addresses AS same_body_addresses,
       hashes AS distinct_body_hashes, probed_addresses
FROM (
  SELECT h.domain_id, h.body_sha256, count(DISTINCT h.address) AS addresses,
         count(*) OVER (PARTITION BY h.domain_id) AS hashes,
         sum(count(DISTINCT h.address)) OVER (PARTITION BY h.domain_id) AS probed_addresses
  FROM http_probes h
  WHERE h.domain_id IS NOT NULL AND h.body_sha256 IS NOT NULL AND h.status IS NOT NULL
  GROUP BY h.domain_id, h.body_sha256
) per_hash
ORDER BY domain_id, addresses DESC, body_sha256;
COMMENT ON VIEW http_same_body_addresses IS
  'Scoring feature "distinct addresses serving the same body hash": per domain, the hash '
  'served by the most distinct addresses (same_body_addresses), how many distinct hashes '
  'were seen, and probed_addresses = sum over hashes of their distinct addresses.';

-- Scoring feature: the spread of connect times (flux agents on home connections answer
-- slowly and unevenly; a CDN or a single server answers evenly).
CREATE VIEW http_connect_time_spread AS
SELECT domain_id,
       count(*) AS samples,
       count(DISTINCT address) AS addresses,
       min(connect_us) AS min_connect_us,
       max(connect_us) AS max_connect_us,
       avg(connect_us)::double precision AS mean_connect_us,
       coalesce(stddev_samp(connect_us), 0)::double precision AS stddev_connect_us,
       (percentile_cont(0.9) WITHIN GROUP (ORDER BY connect_us)
        - percentile_cont(0.1) WITHIN GROUP (ORDER BY connect_us))::double precision
         AS p10_p90_connect_us,
       CASE WHEN avg(connect_us) > 0
            THEN coalesce(stddev_samp(connect_us), 0) / avg(connect_us) END::double precision
         AS connect_cv
FROM http_probes
WHERE domain_id IS NOT NULL AND connect_us IS NOT NULL
GROUP BY domain_id;
COMMENT ON VIEW http_connect_time_spread IS
  'Scoring feature "spread of connect times" per domain: min/max/mean/stddev, the 10th-90th '
  'percentile range and the coefficient of variation (stddev / mean) of connect_us.';
