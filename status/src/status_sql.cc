// Every query `fluxwatch status` and the metrics exporter run, in one place: plain SQL on
// the tables (watchlist, observations/probe_contexts, schedule, geo_builds, feeds,
// schema_migrations) so a change of the stored shape is adapted here only. Read-only, through
// storage::Session (its retry policy: a connection lost mid-read reads the snapshot again);
// each section is its own statement so a missing table still lets the rest report.
//
// The probe queries are written for the schema this fluxwatch creates, once. A database at an
// older schema exists only between installing a newer fluxwatch and its first `init`,
// `probe` or `run` (each migrates on opening): status says so and reads only the sections
// whose tables every schema has, instead of keeping a second copy of each query per schema.
#include <fmt/format.h>

#include <pqxx/pqxx>

#include "fluxwatch/status/campaigns.h"
#include "fluxwatch/status/status.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::status {
namespace {

Clock::time_point from_epoch(double seconds) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

std::optional<Clock::time_point> optional_time(const pqxx::field& field) {
  if (field.is_null()) {
    return std::nullopt;
  }
  return from_epoch(field.as<double>());
}

std::optional<double> optional_number(const pqxx::field& field) {
  if (field.is_null()) {
    return std::nullopt;
  }
  return field.as<double>();
}

// Rows touched by a query here are bounded: probes only within the last day (rates,
// today's count, lateness), the rest are small tables.
constexpr const char* kCountsSql = R"(
SELECT (SELECT count(*) FROM watchlist),
       coalesce((SELECT max(version) FROM schema_migrations), 0))";

// Probes are read from `observations` (partitioned by day of sent_at, indexed on domain_id)
// and `probe_contexts`, not through the `probes` view, which is slow for time ranges.

constexpr const char* kProbeTotalEstimateSql = R"(
SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
FROM pg_class c
WHERE c.oid = 'observations'::regclass
   OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'observations'::regclass))";

constexpr const char* kProbeTotalExactSql = "SELECT count(*) FROM observations";

constexpr const char* kRecentProbesSql = R"(
WITH bounds AS (SELECT now() AS now, date_trunc('day', now() AT TIME ZONE 'UTC')
                                      AT TIME ZONE 'UTC' AS today)
SELECT count(*) FILTER (WHERE p.sent_at >= b.today),
       count(*) FILTER (WHERE p.sent_at > b.now - interval '1 minute'),
       count(*) FILTER (WHERE p.sent_at > b.now - interval '5 minutes'),
       count(*) FILTER (WHERE p.sent_at > b.now - interval '15 minutes')
FROM bounds b
LEFT JOIN observations p ON p.sent_at >= least(b.today, b.now - interval '15 minutes'))";

constexpr const char* kCampaignsSql = R"(
SELECT campaign,
       count(*),
       count(*) FILTER (WHERE next_due <= now()),
       count(*) FILTER (WHERE next_due <= now() AND (lease_until IS NULL OR lease_until < now())),
       extract(epoch FROM now() - min(next_due) FILTER (
           WHERE next_due <= now() AND (lease_until IS NULL OR lease_until < now())))::float8,
       extract(epoch FROM max(last_sent))::float8
FROM schedule
GROUP BY campaign
ORDER BY campaign)";

constexpr const char* kLatenessSql = R"(
SELECT c.campaign,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.sent_at - o.due_at)),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.sent_at - o.due_at))
FROM observations o JOIN probe_contexts c USING (context_id)
WHERE o.due_at IS NOT NULL AND c.campaign <> '' AND o.sent_at > now() - interval '15 minutes'
GROUP BY c.campaign)";

// Per resolver over the last 15 minutes: queries, failures (no answer measured: as the
// engine's is_failure()), its last answer and the failures after it. Authoritative
// queries asked a domain's own servers, not a resolver.
constexpr const char* kResolversSql = R"(
WITH recent AS (
  SELECT c.resolver, o.sent_at,
         c.outcome IN ('TIMEOUT', 'CONNREFUSED', 'MALFORMED', 'NETERROR') AS failed
  FROM observations o JOIN probe_contexts c USING (context_id)
  WHERE o.sent_at > now() - interval '15 minutes' AND c.mode <> 'authoritative'),
answered AS (
  SELECT resolver, max(sent_at) FILTER (WHERE NOT failed) AS last_answer
  FROM recent GROUP BY resolver)
SELECT r.resolver, count(*), count(*) FILTER (WHERE r.failed),
       count(*) FILTER (WHERE r.failed AND (a.last_answer IS NULL OR r.sent_at > a.last_answer)),
       extract(epoch FROM a.last_answer)::float8, extract(epoch FROM max(r.sent_at))::float8
FROM recent r JOIN answered a USING (resolver)
GROUP BY r.resolver, a.last_answer
ORDER BY r.resolver)";

constexpr const char* kWorkersSql = R"(
SELECT lease_owner, campaign, count(*), extract(epoch FROM max(lease_until))::float8
FROM schedule
WHERE lease_owner IS NOT NULL AND lease_until > now()
GROUP BY lease_owner, campaign
ORDER BY lease_owner, campaign)";

constexpr const char* kGeoBuildsSql = R"(
SELECT tag, extract(epoch FROM first_used)::float8
FROM geo_builds ORDER BY first_used DESC, geo_build_id DESC LIMIT 5)";

constexpr const char* kFeedsSql = R"(
SELECT url, extract(epoch FROM last_attempt_at)::float8,
       extract(epoch FROM last_success_at)::float8, last_status, last_error,
       consecutive_failures, entries
FROM feeds ORDER BY url)";

/// Runs one section; a failure (e.g. a table the schema lacks) becomes a problem, except a
/// lost connection, which Session::run answers by reading the whole snapshot again.
template <typename Body>
void section(StatusReport& report, const pqxx::connection& connection, const char* name,
             Body body) {
  try {
    body();
  } catch (const pqxx::failure& error) {
    if (storage::detail::is_connection_loss(error, &connection)) {
      throw;
    }
    report.problems.push_back(
        fmt::format("could not read {}: {}", name, storage::detail::one_line(error.what())));
  } catch (const std::exception& error) {
    report.problems.push_back(fmt::format("could not read {}: {}", name, error.what()));
  }
}

/// The snapshot's sections, read into `report` (reachable, with the DSN and time set).
void read_sections(pqxx::connection& connection, StatusReport& report, Detail detail);

}  // namespace

std::vector<CampaignStatus> read_campaigns(pqxx::transaction_base& tx) {
  std::vector<CampaignStatus> campaigns;
  for (const auto& row : tx.exec(kCampaignsSql)) {
    CampaignStatus campaign;
    campaign.name = row[0].as<std::string>();
    campaign.domains = row[1].as<std::int64_t>();
    campaign.due_now = row[2].as<std::int64_t>();
    campaign.backlog = row[3].as<std::int64_t>();
    campaign.oldest_overdue_seconds = optional_number(row[4]);
    campaign.last_probe = optional_time(row[5]);
    campaigns.push_back(std::move(campaign));
  }
  return campaigns;
}

StatusReport read_status(const std::string& dsn, const std::string& shown_dsn, Detail detail) {
  StatusReport report;
  report.database = shown_dsn;
  report.checked_at = Clock::now();
  try {
    // Connecting is tried once (a database that is away is reported at once: status is
    // down); a connection lost while reading is reconnected under the retry policy.
    storage::Session session(dsn, "status");
    return session.run("status", [&](pqxx::connection& connection) {
      StatusReport read = report;  // each attempt starts from nothing read
      read.reachable = true;
      read_sections(connection, read, detail);
      return read;
    });
  } catch (const std::exception& error) {
    report.reachable = false;
    report.error = storage::detail::one_line(error.what());
    return report;
  }
}

namespace {

void read_sections(pqxx::connection& connection, StatusReport& report, Detail detail) {
  pqxx::nontransaction tx(connection, "status");
  // A status check must answer: no statement may hang on a busy server.
  tx.exec("SET statement_timeout = '20s'");
  section(report, connection, "the watchlist", [&] {
    const auto row = tx.exec(kCountsSql)[0];
    report.watched_domains = row[0].as<std::int64_t>();
    report.schema_version = row[1].as<int>();
  });
  // Older: not migrated yet (see the top of this file); newer: a newer fluxwatch's, read as is.
  const bool current = report.schema_version >= storage::latest_schema_version();
  if (!current) {
    report.problems.push_back(fmt::format(
        "the database is at schema version {}, this fluxwatch's is {}: `fluxwatch init` (or "
        "the next `probe` or `run`) migrates it; probe rates, lateness and resolvers are read "
        "after that",
        report.schema_version, storage::latest_schema_version()));
  }
  if (detail == Detail::Full && current) {
    section(report, connection, "probes", [&] {
      report.probes_total = tx.exec(kProbeTotalEstimateSql)[0][0].as<std::int64_t>();
      if (report.probes_total == 0) {  // never analysed: a small table, count it
        report.probes_total = tx.exec(kProbeTotalExactSql)[0][0].as<std::int64_t>();
      }
      const auto row = tx.exec(kRecentProbesSql)[0];
      report.probes_today = row[0].as<std::int64_t>();
      report.rate_1m = row[1].as<double>() / 60.0;
      report.rate_5m = row[2].as<double>() / 300.0;
      report.rate_15m = row[3].as<double>() / 900.0;
    });
  }
  section(report, connection, "the schedule", [&] {
    report.campaigns = read_campaigns(tx);
    for (const auto& row :
         detail == Detail::Full && current ? tx.exec(kLatenessSql) : pqxx::result()) {
      const auto name = row[0].as<std::string>();
      for (auto& campaign : report.campaigns) {
        if (campaign.name == name) {
          campaign.lateness_p50_seconds = optional_number(row[1]);
          campaign.lateness_p95_seconds = optional_number(row[2]);
        }
      }
    }
    for (const auto& row : tx.exec(kWorkersSql)) {
      report.workers.push_back(WorkerStatus{row[0].as<std::string>(), row[1].as<std::string>(),
                                            row[2].as<std::int64_t>(),
                                            from_epoch(row[3].as<double>())});
    }
  });
  if (detail == Detail::Schedule) {
    return;
  }
  section(report, connection, "resolvers", [&] {
    if (!current) {
      return;
    }
    for (const auto& row : tx.exec(kResolversSql)) {
      ResolverStatus resolver;
      resolver.resolver = row[0].as<std::string>();
      resolver.queries = row[1].as<std::int64_t>();
      resolver.failures = row[2].as<std::int64_t>();
      resolver.failures_since_answer = row[3].as<std::int64_t>();
      resolver.last_answer = optional_time(row[4]);
      resolver.last_query = optional_time(row[5]);
      report.resolvers.push_back(std::move(resolver));
    }
  });
  section(report, connection, "geo_builds", [&] {
    for (const auto& row : tx.exec(kGeoBuildsSql)) {
      report.geo_builds.push_back(
          GeoBuildStatus{row[0].as<std::string>(), from_epoch(row[1].as<double>())});
    }
  });
  section(report, connection, "feeds", [&] {
    for (const auto& row : tx.exec(kFeedsSql)) {
      FeedStatus feed;
      feed.url = row[0].as<std::string>();
      feed.last_attempt = optional_time(row[1]);
      feed.last_success = optional_time(row[2]);
      if (!row[3].is_null()) {
        feed.last_status = row[3].as<int>();
      }
      feed.last_error = row[4].is_null() ? "" : row[4].as<std::string>();
      feed.consecutive_failures = row[5].as<int>();
      if (!row[6].is_null()) {
        feed.entries = row[6].as<std::int64_t>();
      }
      report.feeds.push_back(std::move(feed));
    }
  });
}

}  // namespace

}  // namespace fluxwatch::status
