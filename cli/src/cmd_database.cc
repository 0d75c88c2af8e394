// `fluxwatch init`, `fluxwatch db ...`, `fluxwatch config`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

#include "cluster_access.h"
#include "context.h"
#include "fluxwatch/common/error.h"

namespace fluxwatch::cli {
namespace {

int run_init(const config::Config& config) {
  const auto dsn = database_dsn(config);
  storage::Database db(dsn);
  const int applied = db.migrate();
  fmt::print("database ready: schema version {} ({} migration{} applied now)\n",
             db.schema_version(), applied, plural(static_cast<std::size_t>(applied)));
  if (uses_managed_cluster(config)) {
    fmt::print("managed PostgreSQL: {} (connect with: psql \"{}\")\n",
               managed_cluster(config).data_dir(), dsn);
  }
  return kExitOk;
}

struct DbFlags {
  std::string action;
  std::string user;
  bool force = false;
};

int run_db(const config::Config& config, const DbFlags& flags) {
  const std::string& action = flags.action;
  auto cluster = managed_cluster(config);
  if (action == "start") {
    start_cluster(cluster);
    fmt::print("running: {}\n", cluster.dsn());
  } else if (action == "stop") {
    return stop_cluster(config, flags.force);
  } else if (action == "grant-reader") {
    if (flags.user.empty()) {
      throw ConfigError("db grant-reader needs the Unix user name: fluxwatch db grant-reader USER");
    }
    return grant_reader(config, flags.user);
  } else if (action == "status") {
    const bool running = cluster.running();
    fmt::print("{}: {}\n", cluster.data_dir(), running ? "running" : "not running");
    return running ? kExitOk : kExitPartial;
  } else {
    fmt::print("{}\n", database_dsn(config));  // whole, for psql "$(fluxwatch db dsn)"
  }
  return kExitOk;
}

struct PruneFlags {
  bool dry_run = false;
  std::optional<int> retention_days;
};

/// Drops (or with --dry-run lists) the daily partitions of probe rows past the retention.
int run_prune(const config::Config& config, const PruneFlags& flags) {
  const int days = flags.retention_days.value_or(config.storage.retention_days);
  if (days == 0) {
    fmt::print("storage.retention_days is 0 (keep everything): nothing to prune\n");
    return kExitOk;
  }
  auto db = open_database(config);
  const auto partitions = db.prune(days, flags.dry_run);
  std::int64_t probes = 0;
  std::int64_t bytes = 0;
  for (const auto& partition : partitions) {
    fmt::print("{} {} {} probes, {:.1f} MiB\n", flags.dry_run ? "would drop" : "dropped",
               partition.day, partition.probes, static_cast<double>(partition.bytes) / 1048576.0);
    probes += partition.probes;
    bytes += partition.bytes;
  }
  fmt::print(
      "{} {} day{} older than {} days: {} probes, {:.1f} MiB (answer sets, first/last "
      "seen and scores stay)\n",
      flags.dry_run ? "would drop" : "dropped", partitions.size(), plural(partitions.size()), days,
      probes, static_cast<double>(bytes) / 1048576.0);
  return kExitOk;
}

}  // namespace

void add_database_commands(CLI::App& app, CommandTable& table) {
  auto* init = app.add_subcommand("init", "Create or upgrade the database schema (idempotent)");
  table.add(init, run_init);

  auto flags = std::make_shared<DbFlags>();
  auto* db = app.add_subcommand("db", "Manage fluxwatch's own PostgreSQL cluster");
  db->add_option("action", flags->action,
                 "start, stop, status (exit 3 when not running), dsn (print the DSN in use, "
                 "password included, for psql \"$(fluxwatch db dsn)\") or grant-reader USER "
                 "(let a local Unix user read, through the role fluxwatch_reader). stop warns "
                 "about connected sessions and keeps them unless --force; the cluster stays "
                 "stopped until `db start`")
      ->check(CLI::IsMember({"start", "stop", "status", "dsn", "grant-reader"}));
  db->add_option("user", flags->user, "grant-reader: the Unix user (and database role) to let in");
  db->add_flag("--force", flags->force, "stop: also when sessions are connected (they are cut)");
  table.add(db, [flags, db](const config::Config& config) {
    if (flags->action.empty()) {  // bare `fluxwatch db`: say what it does rather than guess
      fmt::print(stderr, "{}", db->help());
      return kExitUsage;
    }
    return run_db(config, *flags);
  });

  auto prune_flags = std::make_shared<PruneFlags>();
  auto* prune = app.add_subcommand(
      "prune", "Drop the days of probe rows older than storage.retention_days (whole days)");
  prune->add_flag("--dry-run", prune_flags->dry_run, "Only say what would be dropped");
  prune
      ->add_option("--retention-days", prune_flags->retention_days,
                   "Keep this many days (overrides storage.retention_days)")
      ->check(CLI::Range(1, 1000000));
  table.add(prune, [prune_flags](const config::Config& config) {
    return run_prune(config, *prune_flags);
  });

  auto* show = app.add_subcommand(
      "config",
      "Print the effective configuration as YAML (secrets redacted), saying which file "
      "it was read from");
  auto reference = std::make_shared<bool>(false);
  show->add_flag("--reference", *reference,
                 "Instead, list every key with its default, range and meaning (Markdown, as in "
                 "README.md)");
  table.add(show, [reference](const config::Config& config) {
    if (*reference) {
      fmt::print("{}", config::settings_markdown());
      return kExitOk;
    }
    const auto& path = loaded_config_path();
    fmt::print("# {}\n", path.empty() ? std::string("built-in defaults: no config file (--config, "
                                                    "$FLUXWATCH_CONFIG or "
                                                    "~/.config/fluxwatch/config.yaml)")
                                      : "loaded from " + path.string());
    fmt::print("{}", config::to_yaml(config));
    return kExitOk;
  });
}

}  // namespace fluxwatch::cli
