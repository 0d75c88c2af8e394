// `fluxwatch status`: is the service healthy? Reads the database in use (never starts
// fluxwatch's own cluster, never migrates) and the configured GeoIP files; prints a table
// or JSON; the exit status is the verdict, for monitoring checks.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "context.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/status/status.h"
#include "service.h"

namespace fluxwatch::cli {
namespace {

struct StatusFlags {
  std::string format = "table";
  int max_overdue_seconds = 300;
  int max_lateness_seconds = 300;
  int max_geoip_age_days = 35;
  int max_resolver_failures = 3;
};

int run_status(const config::Config& config, const StatusFlags& flags) {
  status::StatusReport report;
  if (uses_managed_cluster(config) && !managed_cluster(config).running()) {
    report.database = managed_cluster(config).data_dir() + " (fluxwatch's own PostgreSQL)";
    report.error = "not running (start it with `fluxwatch db start`)";
    report.checked_at = status::Clock::now();
  } else {
    const std::string dsn = database_dsn(config);
    report =
        status::read_status(dsn, dsn.empty() ? "(PG* environment)" : status::mask_password(dsn));
  }
  report.geo_files = read_geo_files(config);
  // Only resolvers the config still asks are judged. With none configured (the system's
  // resolv.conf), every stored one is.
  if (!config.resolvers.empty()) {
    std::set<std::string> configured;
    for (const auto& resolver : config.resolvers) {
      configured.insert(resolver.to_string());
    }
    for (const auto& campaign : config.campaigns) {
      for (const auto& resolver : campaign.resolvers) {
        configured.insert(resolver.to_string());
      }
    }
    report.configured_resolvers = std::move(configured);
  }
  status::HealthLimits limits;
  limits.max_overdue = std::chrono::seconds(flags.max_overdue_seconds);
  limits.max_lateness = std::chrono::seconds(flags.max_lateness_seconds);
  limits.max_geoip_age = std::chrono::hours(24 * flags.max_geoip_age_days);
  limits.max_resolver_failures = flags.max_resolver_failures;
  status::judge(report, limits);
  fmt::print("{}",
             flags.format == "json" ? status::render_json(report) : status::render_table(report));
  return exit_status(report.health);
}

}  // namespace

namespace {

status::GeoFileStatus geo_file(const std::filesystem::path& path, bool asn) {
  status::GeoFileStatus file;
  file.path = path.string();
  if (!std::filesystem::exists(path)) {
    file.error = "file not found";
    return file;
  }
  try {
    geo::GeoOptions options;
    (asn ? options.asn_database : options.city_database) = path;
    options.cache_entries = 16;
    const geo::Enricher enricher(options);
    const auto info = asn ? enricher.asn_info() : enricher.city_info();
    if (info) {
      file.database_type = info->database_type;
      file.built = status::Clock::time_point(std::chrono::seconds(info->build_epoch));
    }
  } catch (const std::exception& error) {
    file.error = error.what();
  }
  return file;
}

}  // namespace

std::vector<status::GeoFileStatus> read_geo_files(const config::Config& config) {
  std::vector<status::GeoFileStatus> files;
  if (!config.geoip.asn_database.empty()) {
    files.push_back(geo_file(config.geoip.asn_database, true));
  }
  if (!config.geoip.city_database.empty()) {
    files.push_back(geo_file(config.geoip.city_database, false));
  }
  return files;
}

int exit_status(status::Health health) {
  switch (health) {
    case status::Health::Healthy:
      return kExitOk;
    case status::Health::Degraded:
      return kExitPartial;
    case status::Health::Down:
      return kExitFailure;
  }
  return kExitFailure;
}

void add_monitor_flags(CLI::App& command, std::string& metrics_file, std::string& trace) {
  command.add_option("--metrics-file", metrics_file,
                     "Write the Prometheus metrics to this file at the end (atomically; for "
                     "node_exporter's textfile collector)");
  command.add_option("--trace", trace,
                     "Log every query and answer of this domain (and names under it)");
}

void add_status_commands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<StatusFlags>();
  auto* command = app.add_subcommand(
      "status",
      "Is fluxwatch healthy? Database, schema, watched domains, probes stored (today, total),\n"
      "per campaign due now / backlog / lateness, workers holding leases, rates, resolvers\n"
      "that stopped answering, GeoIP age, feeds. Exit status: 0 healthy, 3 degraded (the\n"
      "problems are listed), 1 down (database unreachable)");
  command->add_option("--format", flags->format, "table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  command
      ->add_option("--max-overdue", flags->max_overdue_seconds,
                   "Seconds a due domain may wait unprobed before the status is degraded "
                   "(default 300)")
      ->check(CLI::Range(1, 86400 * 30));
  command
      ->add_option("--max-lateness", flags->max_lateness_seconds,
                   "p95 of probe time - due time (last 15 minutes) above which the status is "
                   "degraded, in seconds (default 300)")
      ->check(CLI::Range(1, 86400 * 30));
  command
      ->add_option("--max-geoip-age", flags->max_geoip_age_days,
                   "Days after which a configured GeoIP database counts as stale (default 35)")
      ->check(CLI::Range(1, 3650));
  command
      ->add_option("--max-resolver-failures", flags->max_resolver_failures,
                   "Failed queries in a row (since its last answer, last 15 minutes) after "
                   "which a resolver counts as unhealthy and the status is degraded (default 3, "
                   "as in `run`); a resolver the config no longer lists is shown, not judged")
      ->check(CLI::Range(1, 1000000));
  table.add(command, [flags](const config::Config& config) { return run_status(config, *flags); });
}

}  // namespace fluxwatch::cli
