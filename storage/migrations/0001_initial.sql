-- 0001_initial: the fluxwatch schema. Researchers query these tables directly, so every
-- table and the less obvious columns carry a COMMENT (see \d+ in psql).
-- Applied by fluxwatch::storage::Database::migrate() in one transaction, together with its
-- row in schema_migrations.

CREATE TABLE schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE schema_migrations IS
  'Schema migrations applied by fluxwatch (storage/migrations/NNNN_name.sql), one row each.';

CREATE TABLE watchlist (
  domain_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain    text NOT NULL UNIQUE
            CHECK (char_length(domain) BETWEEN 1 AND 253
                   AND domain ~ '^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$'),
  source    text,
  tags      text[] NOT NULL DEFAULT '{}',
  added_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE watchlist IS
  'Domains fluxwatch probes. Names are normalised: lower-case ASCII (IDNA A-labels), no '
  'trailing dot.';
COMMENT ON COLUMN watchlist.source IS
  'Where the domain was first imported from (file name, "stdin", feed URL).';
COMMENT ON COLUMN watchlist.tags IS
  'Free-form labels, sorted and de-duplicated; re-imports merge their tags in.';

CREATE TABLE probe_runs (
  run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  settings    jsonb,
  probes      bigint,
  records     bigint,
  errors      bigint
);
COMMENT ON TABLE probe_runs IS
  'One row per crawl (fluxwatch run/crawl/...): its effective settings and, once finished, '
  'its totals. finished_at is NULL for runs that are still going or were interrupted.';
COMMENT ON COLUMN probe_runs.errors IS
  'Probes whose outcome is TIMEOUT, CONNREFUSED, MALFORMED or NETERROR.';

CREATE TYPE dns_outcome AS ENUM (
  'NOERROR', 'NODATA', 'NXDOMAIN', 'SERVFAIL', 'REFUSED', 'FORMERR', 'OTHER_RCODE',
  'TIMEOUT', 'CONNREFUSED', 'MALFORMED', 'NETERROR'
);
COMMENT ON TYPE dns_outcome IS
  'What one probe measured: NOERROR = records of the asked type (after CNAMEs), NODATA = '
  'RCODE 0 without them, NXDOMAIN/SERVFAIL/REFUSED/FORMERR/OTHER_RCODE = that RCODE, '
  'TIMEOUT/CONNREFUSED/MALFORMED/NETERROR = no usable answer.';

-- Probe ids are allocated client-side ("hi/lo"), because COPY needs them before the rows
-- exist (records reference their probe): the writer takes one nextval() per block of 1000
-- probes and numbers the probes of the block value .. value+999 itself. Ids are therefore
-- unique and increasing per batch, but not dense (a block is rarely used completely).
CREATE SEQUENCE probe_id_blocks INCREMENT BY 1000 START WITH 1 MINVALUE 1;
COMMENT ON SEQUENCE probe_id_blocks IS
  'hi/lo allocator of probes.probe_id: each nextval() reserves the 1000 ids value..value+999.';

CREATE TABLE probes (
  probe_id   bigint PRIMARY KEY,
  run_id     bigint REFERENCES probe_runs,
  domain_id  bigint REFERENCES watchlist,
  qname      text NOT NULL,
  qtype      text NOT NULL,
  resolver   text NOT NULL,
  sent_at    timestamptz NOT NULL,
  latency_us integer,
  outcome    dns_outcome NOT NULL,
  rcode      smallint,
  via_tcp    boolean NOT NULL,
  detail     text
);
CREATE INDEX probes_domain_sent_idx ON probes (domain_id, sent_at);
CREATE INDEX probes_run_idx ON probes (run_id);
COMMENT ON TABLE probes IS
  'Every DNS query fluxwatch sent: one name, one type, one server. Its records are in '
  'records.';
COMMENT ON COLUMN probes.probe_id IS 'Allocated from the sequence probe_id_blocks (hi/lo).';
COMMENT ON COLUMN probes.domain_id IS
  'The watched domain the probe is about; NULL when the name is not on the watchlist.';
COMMENT ON COLUMN probes.qname IS
  'The name asked (may differ from the watched domain, e.g. www.<domain> or an NS name).';
COMMENT ON COLUMN probes.qtype IS 'Query type: A, AAAA, NS, CNAME, SOA or TYPE<n>.';
COMMENT ON COLUMN probes.resolver IS 'ip:port of the server that was asked.';
COMMENT ON COLUMN probes.latency_us IS
  'Microseconds from sending to the final answer (or to giving up); NULL if not measured.';
COMMENT ON COLUMN probes.rcode IS 'DNS RCODE of the answer; NULL when no answer arrived.';
COMMENT ON COLUMN probes.via_tcp IS 'The UDP answer was truncated; the stored one came over TCP.';
COMMENT ON COLUMN probes.detail IS 'Human-readable detail for failures, else NULL.';

CREATE TABLE records (
  probe_id bigint NOT NULL REFERENCES probes ON DELETE CASCADE,
  section  text NOT NULL CHECK (section IN ('answer', 'authority', 'additional')),
  owner    text NOT NULL,
  rtype    text NOT NULL,
  ttl      bigint NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),
  address  inet,
  target   text
);
CREATE INDEX records_probe_idx ON records (probe_id);
CREATE INDEX records_address_idx ON records (address) WHERE address IS NOT NULL;
CREATE INDEX records_ns_cname_target_idx ON records (target) WHERE rtype IN ('NS', 'CNAME');
COMMENT ON TABLE records IS
  'Resource records of each probe''s answer, authority and additional sections.';
COMMENT ON COLUMN records.owner IS 'Owner name: lower case, no trailing dot.';
COMMENT ON COLUMN records.rtype IS 'A, AAAA, NS, CNAME, SOA or TYPE<n> (RFC 3597).';
COMMENT ON COLUMN records.ttl IS 'TTL in seconds as received (an unsigned 32-bit value).';
COMMENT ON COLUMN records.address IS 'A/AAAA: the address; NULL for other types.';
COMMENT ON COLUMN records.target IS
  'NS/CNAME: the target name (lower case, no trailing dot); SOA: "mname rname serial '
  'refresh retry expire minimum"; other types: RDATA in presentation format; NULL for A/AAAA.';

CREATE TABLE geo_builds (
  geo_build_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tag          text NOT NULL UNIQUE,
  first_used   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE geo_builds IS
  'GeoIP/ASN database builds (MMDB build tags) that enriched addresses in address_geo.';

CREATE TABLE address_geo (
  address      inet NOT NULL,
  geo_build_id integer NOT NULL REFERENCES geo_builds,
  asn          bigint,
  as_org       text,
  country      text,
  country_name text,
  city         text,
  latitude     double precision,
  longitude    double precision,
  PRIMARY KEY (address, geo_build_id)
);
COMMENT ON TABLE address_geo IS
  'What each GeoIP build says about an address (written once per address and build). '
  'Join on records.address; pick a build via geo_builds, or any for a rough picture.';
COMMENT ON COLUMN address_geo.country IS 'ISO 3166-1 alpha-2 code; NULL if unknown.';
