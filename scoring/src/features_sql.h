#pragma once
// The set-based feature computation (see features.h for the definitions; features.cc is the
// reference implementation these statements must agree with). Parameters of every statement:
// $1 window start (timestamptz text, '-infinity' for none), $2 window end, $3 campaign ('' =
// every probe). Each statement runs in the same transaction, in order; the temporary tables
// are dropped at commit.

namespace fluxwatch::scoring::detail {

// The probes of watched domains in the window, and their address records (the answer
// records of the asked type, A or AAAA, after any CNAME chain). Authoritative probes count
// like recursive ones: each is one lookup of the domain.
constexpr const char* kWindowProbesSql = R"sql(
CREATE TEMP TABLE fw_score_probes ON COMMIT DROP AS
SELECT p.probe_id, p.domain_id, p.qtype, p.sent_at
FROM probes p
WHERE p.domain_id IS NOT NULL AND p.sent_at >= $1::timestamptz AND p.sent_at < $2::timestamptz
  AND ($3 = '' OR p.campaign = $3)
  -- Authoritative mode's address lookups of NS names belong to the name servers, not to
  -- the domain (ns_host_addr reads them from the records directly).
  AND (p.mode <> 'delegation' OR p.qtype = 'NS')
)sql";

constexpr const char* kWindowAddressesSql = R"sql(
CREATE TEMP TABLE fw_score_addr ON COMMIT DROP AS
SELECT p.domain_id, p.probe_id, p.qtype, p.sent_at, r.address, r.ttl
FROM fw_score_probes p JOIN records r ON r.probe_id = p.probe_id
WHERE p.qtype IN ('A', 'AAAA') AND r.section = 'answer' AND r.rtype = p.qtype
  AND r.address IS NOT NULL
)sql";

constexpr const char* kWindowNsSql = R"sql(
CREATE TEMP TABLE fw_score_ns ON COMMIT DROP AS
SELECT p.domain_id, p.probe_id, p.sent_at, r.target, r.ttl
FROM fw_score_probes p JOIN records r ON r.probe_id = p.probe_id
WHERE r.rtype = 'NS' AND r.section = 'answer' AND r.target IS NOT NULL AND r.target <> ''
)sql";

constexpr const char* kAnalyzeSql = "ANALYZE fw_score_probes, fw_score_addr, fw_score_ns";

// For the one big statement below: the planner underestimates the rows of the aggregated
// CTEs and would nest loops over them (minutes at 1M probes); hashes and sorts are right
// for a pass over every domain. Both settings end with the transaction.
constexpr const char* kPlannerSettingsSql =
    "SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '128MB'";

// One row per watched domain. Columns in the order ScoreStore reads them.
constexpr const char* kFeaturesSql = R"sql(
WITH geo AS (
  SELECT DISTINCT ON (address) address, asn, country, latitude, longitude
  FROM address_geo ORDER BY address, geo_build_id DESC
), probe_counts AS (
  SELECT domain_id, count(*) AS probes,
         count(*) FILTER (WHERE qtype IN ('A', 'AAAA')) AS address_probes
  FROM fw_score_probes GROUP BY domain_id
), lookups AS (   -- one row per answered lookup: its address set, sorted and distinct
  SELECT domain_id, probe_id, qtype, sent_at, array_agg(DISTINCT address ORDER BY address) AS s
  FROM fw_score_addr GROUP BY domain_id, probe_id, qtype, sent_at
), lookup_stats AS (
  SELECT domain_id, max(per_type) AS answered_lookups, max(biggest) AS max_answer_size
  FROM (SELECT domain_id, qtype, count(*) AS per_type, max(cardinality(s)) AS biggest
        FROM lookups GROUP BY domain_id, qtype) t
  GROUP BY domain_id
), seq AS (       -- each lookup with the previous one of the same domain and type
  SELECT domain_id, s,
         lag(s) OVER (PARTITION BY domain_id, qtype ORDER BY sent_at, probe_id) AS prev
  FROM lookups
), change AS (    -- answers are small: comparing the arrays beats joining address rows
  SELECT domain_id,
         avg((SELECT count(*) FROM unnest(s) AS a WHERE a <> ALL (prev))::float8
             / cardinality(s)) AS new_address_ratio,
         avg(CASE WHEN s = prev THEN 0 ELSE 1 END::float8) AS set_change_ratio
  FROM seq WHERE prev IS NOT NULL
  GROUP BY domain_id
), ttl_stats AS (
  SELECT domain_id, min(ttl) AS min_ttl,
         percentile_disc(0.5) WITHIN GROUP (ORDER BY ttl) AS median_ttl
  FROM fw_score_addr GROUP BY domain_id
), daddr AS (     -- distinct addresses per domain with their enrichment
  SELECT d.domain_id, d.address, g.asn, g.country,
         cos(radians(g.latitude)) * cos(radians(g.longitude)) AS vx,
         cos(radians(g.latitude)) * sin(radians(g.longitude)) AS vy,
         CASE WHEN g.longitude IS NOT NULL THEN sin(radians(g.latitude)) END AS vz
  FROM (SELECT DISTINCT domain_id, address FROM fw_score_addr) d
  LEFT JOIN geo g ON g.address = d.address
), addr_stats AS (
  SELECT domain_id,
         count(*) FILTER (WHERE family(address) = 4) AS ipv4,
         count(*) FILTER (WHERE family(address) = 6) AS ipv6,
         count(DISTINCT asn) AS asns,
         count(DISTINCT asn) FILTER (WHERE family(address) = 4) AS ipv4_asns,
         count(DISTINCT country) AS countries,
         count(DISTINCT network(set_masklen(address,
                                            CASE WHEN family(address) = 4 THEN 16 ELSE 32 END)))
           AS prefixes,
         sum(vx) AS cx, sum(vy) AS cy, sum(vz) AS cz
  FROM daddr GROUP BY domain_id
), dispersion AS ( -- mean angle from the (unnormalised) centroid vector, atan2(|v x c|, v.c)
  SELECT d.domain_id,
         avg(6371.0088 * atan2(
               sqrt((d.vy * s.cz - d.vz * s.cy) ^ 2 + (d.vz * s.cx - d.vx * s.cz) ^ 2
                    + (d.vx * s.cy - d.vy * s.cx) ^ 2),
               d.vx * s.cx + d.vy * s.cy + d.vz * s.cz)) AS km
  FROM daddr d JOIN addr_stats s USING (domain_id)
  WHERE d.vx IS NOT NULL
  GROUP BY d.domain_id
), entropy AS (
  SELECT domain_id, 0 - sum(p * ln(p)) / ln(2) AS bits
  FROM (SELECT domain_id, c::float8 / sum(c) OVER (PARTITION BY domain_id) AS p
        FROM (SELECT domain_id, country, count(*) AS c FROM daddr
              WHERE country IS NOT NULL GROUP BY domain_id, country) cc) x
  GROUP BY domain_id
), ns_stats AS (
  SELECT domain_id, count(DISTINCT target) AS ns_names, min(ttl) AS ns_min_ttl,
         percentile_disc(0.5) WITHIN GROUP (ORDER BY ttl) AS ns_median_ttl
  FROM fw_score_ns GROUP BY domain_id
), ns_change AS (
  SELECT domain_id, avg(CASE WHEN s = prev THEN 0 ELSE 1 END::float8) AS ratio
  FROM (SELECT domain_id, s, lag(s) OVER (PARTITION BY domain_id ORDER BY sent_at, probe_id) AS prev
        FROM (SELECT domain_id, probe_id, sent_at, array_agg(DISTINCT target ORDER BY target) AS s
              FROM fw_score_ns GROUP BY domain_id, probe_id, sent_at) sets) x
  WHERE prev IS NOT NULL
  GROUP BY domain_id
), ns_host_addr AS ( -- addresses of NS names: glue or answers, from any probe of the window
  SELECT DISTINCT r.owner, r.address
  FROM probes p JOIN records r ON r.probe_id = p.probe_id
  WHERE p.sent_at >= $1::timestamptz AND p.sent_at < $2::timestamptz
    AND r.rtype IN ('A', 'AAAA') AND r.section IN ('answer', 'additional')
    AND r.address IS NOT NULL
    AND r.owner IN (SELECT target FROM fw_score_ns)
), ns_addr_stats AS (
  SELECT n.domain_id, count(DISTINCT h.address) AS ns_addresses, count(DISTINCT g.asn) AS ns_asns
  FROM (SELECT DISTINCT domain_id, target FROM fw_score_ns) n
  JOIN ns_host_addr h ON h.owner = n.target
  LEFT JOIN geo g ON g.address = h.address
  GROUP BY n.domain_id
), soa AS (
  SELECT p.domain_id, p.probe_id, p.sent_at, min(split_part(r.target, ' ', 3)::bigint) AS serial
  FROM fw_score_probes p JOIN records r ON r.probe_id = p.probe_id
  WHERE r.rtype = 'SOA' AND split_part(r.target, ' ', 3) ~ '^[0-9]{1,10}$'
  GROUP BY p.domain_id, p.probe_id, p.sent_at
), soa_stats AS (
  SELECT domain_id, count(*) FILTER (WHERE prev IS NOT NULL AND serial <> prev) AS changes
  FROM (SELECT domain_id, serial,
               lag(serial) OVER (PARTITION BY domain_id ORDER BY sent_at, probe_id) AS prev
        FROM soa) x
  GROUP BY domain_id
)
SELECT w.domain_id, w.domain,
       coalesce(pc.probes, 0), coalesce(pc.address_probes, 0),
       coalesce(ls.answered_lookups, 0), coalesce(ls.max_answer_size, 0),
       coalesce(a.ipv4, 0), coalesce(a.ipv6, 0), coalesce(a.asns, 0), coalesce(a.ipv4_asns, 0),
       coalesce(a.countries, 0), coalesce(a.prefixes, 0),
       e.bits, dsp.km,
       t.min_ttl, t.median_ttl, ns.ns_min_ttl, ns.ns_median_ttl,
       coalesce(ns.ns_names, 0), coalesce(na.ns_addresses, 0), coalesce(na.ns_asns, 0),
       ch.new_address_ratio, ch.set_change_ratio, nc.ratio, so.changes
FROM watchlist w
LEFT JOIN probe_counts pc ON pc.domain_id = w.domain_id
LEFT JOIN lookup_stats ls ON ls.domain_id = w.domain_id
LEFT JOIN addr_stats a ON a.domain_id = w.domain_id
LEFT JOIN entropy e ON e.domain_id = w.domain_id
LEFT JOIN dispersion dsp ON dsp.domain_id = w.domain_id
LEFT JOIN ttl_stats t ON t.domain_id = w.domain_id
LEFT JOIN ns_stats ns ON ns.domain_id = w.domain_id
LEFT JOIN ns_addr_stats na ON na.domain_id = w.domain_id
LEFT JOIN change ch ON ch.domain_id = w.domain_id
LEFT JOIN ns_change nc ON nc.domain_id = w.domain_id
LEFT JOIN soa_stats so ON so.domain_id = w.domain_id
ORDER BY w.domain
)sql";

}  // namespace fluxwatch::scoring::detail
