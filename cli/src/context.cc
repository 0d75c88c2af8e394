#include "context.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cluster_access.h"

namespace fluxwatch::cli {
namespace {

bool libpq_environment_set() {
  for (const char* name : {"PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSERVICE", "PGPORT"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') {
      return true;
    }
  }
  return false;
}

std::filesystem::path g_loaded_config_path;  // set once per process, before any command runs

}  // namespace

const std::filesystem::path& loaded_config_path() { return g_loaded_config_path; }

config::Config load_config(const GlobalFlags& flags) {
  const std::filesystem::path path = flags.config_path.empty()
                                         ? config::default_config_path()
                                         : std::filesystem::path(flags.config_path);
  g_loaded_config_path = path.empty() ? path : std::filesystem::absolute(path);
  auto config = path.empty() ? config::default_config() : config::load_config_file(path);
  if (!flags.state_dir.empty()) {
    config.state_dir = flags.state_dir;
  }
  if (!flags.dsn.empty()) {
    config.database.dsn = flags.dsn;
  }
  config.validate();
  return config;
}

storage::ManagedCluster managed_cluster(const config::Config& config) {
  return storage::ManagedCluster((config.state_dir / "postgres").string());
}

bool uses_managed_cluster(const config::Config& config) {
  return config.database.dsn.empty() && !libpq_environment_set();
}

std::string database_dsn(const config::Config& config) {
  if (!config.database.dsn.empty()) {
    return config.database.dsn;
  }
  if (libpq_environment_set()) {
    return "";  // libpq reads PGHOST, PGDATABASE, ... itself
  }
  auto cluster = managed_cluster(config);
  if (cluster.accepting_connections()) {
    return cluster.dsn();  // up: no pg_ctl processes (about 0.1 s at every start)
  }
  if (!cluster.running()) {
    check_not_stopped(cluster);
    spdlog::info("starting fluxwatch's own PostgreSQL in {}", cluster.data_dir());
  }
  cluster.ensure_running();
  return cluster.dsn();
}

storage::Database open_database(const config::Config& config) {
  return open_database(database_dsn(config));
}

storage::Database open_database(const std::string& dsn) {
  storage::Database db(dsn);
  db.migrate();
  return db;
}

crawler::CrawlerOptions crawler_options(const config::Config& config) {
  crawler::CrawlerOptions options;
  options.servers = config.resolvers;
  options.max_in_flight = config.probe.concurrency;
  options.timeout = config.probe.timeout;
  options.tries = config.probe.tries;
  options.stall_after = config.probe.stall_after;
  options.recursion_desired = config.probe.recursion;
  options.edns = config.probe.edns;
  options.edns_udp_size = config.probe.edns_udp_size;
  options.socket_buffer_bytes = config.probe.socket_buffer_bytes;
  return options;
}

scheduler::EngineOptions engine_options(const config::Config& config,
                                        std::vector<RrType> record_types,
                                        scheduler::EngineMode mode, std::string vantage) {
  scheduler::EngineOptions options;
  options.mode = mode;
  options.record_types = std::move(record_types);
  options.authoritative_port = config.probe.authoritative_port;
  options.authoritative_max_servers = config.probe.authoritative_max_servers;
  options.vantage = std::move(vantage);
  options.batch_size = config.probe.batch_size;
  options.settings_json = config::to_json(config);
  return options;
}

scheduler::EngineMode engine_mode(bool authoritative, bool every_resolver) {
  return authoritative    ? scheduler::EngineMode::Authoritative
         : every_resolver ? scheduler::EngineMode::EveryResolver
                          : scheduler::EngineMode::Recursive;
}

geo::GeoOptions geo_options(const config::Config& config) {
  return geo::GeoOptions{config.geoip.asn_database, config.geoip.city_database,
                         config.geoip.cache_entries};
}

int CommandTable::dispatch(const config::Config& config) const {
  for (const auto& [subcommand, handler] : entries_) {
    if (subcommand->parsed()) {
      return handler(config);
    }
  }
  return kExitUsage;
}

}  // namespace fluxwatch::cli
