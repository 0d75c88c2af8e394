// ReportStore: the read-only queries of `fluxwatch report` (and Database::summaries()), on
// database.read_dsn when it is set (a hot standby or a reader login).
#include "fluxwatch/storage/report_store.h"

#include <pqxx/pqxx>

#include "copy_text.h"
#include "migration_store.h"
#include "report_queries.h"

namespace fluxwatch::storage {
namespace {

/// Reads an int64 column that may be NULL. (libpqxx 6.4 cannot read std::optional: its
/// string_traits<optional>::null() needs PQXX_HAVE_OPTIONAL, which the Debian build lacks.)
std::optional<std::int64_t> optional_int(const pqxx::field& field) {
  if (field.is_null()) {
    return std::nullopt;
  }
  return field.as<std::int64_t>();
}

// One statement for every domain, from the summaries the writer keeps (migrations 0009,
// 0013, 0015), read straight from the packed sets in whole-table passes (the views are built
// for one domain or one address at a time): the addresses of each domain's answer sets
// (answer_set_contents.address_ids, with their counters for the smallest TTL, plus what
// schema 12 carried over), its NS names (answer section and shared part); and one grouped
// pass over observations for the probe count and the latest probe (and latest A probe) of
// every domain: the largest (sent_at, probe_id) with its context, as an array (arrays compare
// element by element). Per domain, an index probe for its latest row would read all its rows
// (observations_domain_idx has no time order: a sort per domain, ~1 ms a domain at 50M
// probes, 15 min for 500,000 domains); the pass reads each row once.
constexpr const char* kSummariesSql = R"sql(
WITH domain_address AS (
  SELECT domain_id, address, min(min_ttl) AS min_ttl
  FROM (SELECT c.domain_id, a.address,
               least(k.min_ttl + coalesce(c.ttl_offsets[u.n], 0), k.min_ttls[u.n]) AS min_ttl
        FROM answer_set_contents c
        JOIN answer_set_counters k USING (domain_id, answer_set_id)
        CROSS JOIN LATERAL unnest(c.address_ids) WITH ORDINALITY AS u(address_id, n)
        JOIN addresses a ON a.address_id = u.address_id
        WHERE c.domain_id <> 0 AND k.times_seen > 0
        UNION ALL
        SELECT domain_id, address, min_ttl FROM domain_address_seen_carried) per_set
  GROUP BY domain_id, address
), address_stats AS (
  SELECT domain_id,
         count(*) FILTER (WHERE family(address) = 4) AS ipv4,
         count(*) FILTER (WHERE family(address) = 6) AS ipv6,
         min(min_ttl) AS min_ttl
  FROM domain_address GROUP BY domain_id
), geo_stats AS (
  SELECT a.domain_id, count(DISTINCT g.asn) AS asns, count(DISTINCT g.country) AS countries
  FROM domain_address a
  JOIN address_geo g ON g.address = a.address
  GROUP BY a.domain_id
), ns_stats AS (
  SELECT domain_id, count(DISTINCT target) AS ns_names
  FROM (SELECT c.domain_id, u.target
        FROM answer_set_contents c
        CROSS JOIN LATERAL unnest(c.rtypes, c.targets) AS u(rtype, target)
        WHERE c.domain_id <> 0 AND u.rtype = 'NS'
        UNION ALL
        SELECT c.domain_id, u.target
        FROM answer_set_contents c
        JOIN shared_parts p ON p.shared_id = c.shared_id
        CROSS JOIN LATERAL unnest(p.rtypes, p.targets) AS u(rtype, target)
        WHERE c.domain_id <> 0 AND u.rtype = 'NS') ns
  GROUP BY domain_id
), probe_stats AS (
  SELECT o.domain_id, count(*) AS probes,
         max(ARRAY[(date_part('epoch', o.sent_at) * 1000000)::bigint, o.probe_id, o.context_id])
           AS latest,
         max(ARRAY[(date_part('epoch', o.sent_at) * 1000000)::bigint, o.probe_id, o.context_id])
           FILTER (WHERE c.qtype = 'A') AS latest_a
  FROM observations o JOIN probe_contexts c USING (context_id)
  WHERE o.domain_id IS NOT NULL
  GROUP BY o.domain_id
)
SELECT w.domain,
       coalesce(ps.probes, 0),
       coalesce(ad.ipv4, 0),
       coalesce(ad.ipv6, 0),
       coalesce(gs.asns, 0),
       coalesce(gs.countries, 0),
       coalesce(ns.ns_names, 0),
       ad.min_ttl,
       coalesce(latest_a.outcome, latest.outcome)::text,
       ps.latest[1]
FROM watchlist w
LEFT JOIN probe_stats ps ON ps.domain_id = w.domain_id
LEFT JOIN address_stats ad ON ad.domain_id = w.domain_id
LEFT JOIN geo_stats gs ON gs.domain_id = w.domain_id
LEFT JOIN ns_stats ns ON ns.domain_id = w.domain_id
LEFT JOIN probe_contexts latest ON latest.context_id = ps.latest[3]
LEFT JOIN probe_contexts latest_a ON latest_a.context_id = ps.latest_a[3]
ORDER BY w.domain
)sql";

}  // namespace

namespace detail {

std::vector<DomainSummary> domain_summaries(Session& session) {
  return session.run("summaries", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "summaries");
    // One hash table of every domain's counters (~350 bytes a domain), not batches on disk.
    tx.exec("SET LOCAL work_mem = '256MB'");
    const pqxx::result rows = tx.exec(kSummariesSql);
    std::vector<DomainSummary> summaries;
    summaries.reserve(rows.size());
    for (const auto& row : rows) {
      DomainSummary summary;
      summary.domain = row[0].as<std::string>();
      summary.probes = row[1].as<std::int64_t>();
      summary.ipv4_addresses = row[2].as<std::int64_t>();
      summary.ipv6_addresses = row[3].as<std::int64_t>();
      summary.asns = row[4].as<std::int64_t>();
      summary.countries = row[5].as<std::int64_t>();
      summary.ns_names = row[6].as<std::int64_t>();
      summary.min_ttl = optional_int(row[7]);
      summary.last_outcome = row[8].is_null() ? std::string() : row[8].as<std::string>();
      if (const auto micros = optional_int(row[9])) {
        summary.last_probe = from_unix_micros(*micros);
      }
      summaries.push_back(std::move(summary));
    }
    return summaries;
  });
}

}  // namespace detail

ReportStore::ReportStore(const std::string& dsn)
    : session_(std::make_unique<Session>(dsn, "report")) {}
ReportStore::~ReportStore() = default;
ReportStore::ReportStore(ReportStore&&) noexcept = default;
ReportStore& ReportStore::operator=(ReportStore&&) noexcept = default;

std::vector<DomainSummary> ReportStore::summaries() { return detail::domain_summaries(*session_); }

int ReportStore::schema_version() { return detail::schema_version(*session_); }

bool ReportStore::in_recovery() {
  return session_->run("in_recovery", [](pqxx::connection& connection) {
    pqxx::read_transaction tx(connection, "in_recovery");
    return tx.exec("SELECT pg_is_in_recovery()")[0][0].as<bool>();
  });
}

}  // namespace fluxwatch::storage
