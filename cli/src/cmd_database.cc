// `fluxwatch init`, `fluxwatch db ...`, `fluxwatch config`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

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
  std::string action = "dsn";
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
    fmt::print("{}\n", database_dsn(config));
  }
  return kExitOk;
}

}  // namespace

void add_database_commands(CLI::App& app, CommandTable& table) {
  auto* init = app.add_subcommand("init", "Create or upgrade the database schema (idempotent)");
  table.add(init, run_init);

  auto flags = std::make_shared<DbFlags>();
  auto* db = app.add_subcommand("db", "Manage fluxwatch's own PostgreSQL cluster");
  db->add_option("action", flags->action,
                 "start; stop (warns about connected sessions and keeps them unless --force; "
                 "stays stopped until `db start`); status (exit 3 when not running); dsn (print "
                 "the DSN in use); grant-reader USER (let a local Unix user read, through the "
                 "role fluxwatch_reader)")
      ->check(CLI::IsMember({"start", "stop", "status", "dsn", "grant-reader"}));
  db->add_option("user", flags->user, "grant-reader: the Unix user (and database role) to let in");
  db->add_flag("--force", flags->force, "stop: also when sessions are connected (they are cut)");
  table.add(db, [flags](const config::Config& config) { return run_db(config, *flags); });

  auto* show = app.add_subcommand("config", "Print the effective configuration as YAML");
  table.add(show, [](const config::Config& config) {
    fmt::print("{}", config::to_yaml(config));
    return kExitOk;
  });
}

}  // namespace fluxwatch::cli
