// `fluxwatch init`, `fluxwatch db ...`, `fluxwatch config`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "context.h"

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

int run_db(const config::Config& config, const std::string& action) {
  auto cluster = managed_cluster(config);
  if (action == "start") {
    cluster.ensure_running();
    fmt::print("running: {}\n", cluster.dsn());
  } else if (action == "stop") {
    cluster.stop();
    fmt::print("stopped: {}\n", cluster.data_dir());
  } else if (action == "status") {
    const bool running = cluster.running();
    fmt::print("{}: {}\n", cluster.data_dir(), running ? "running" : "not running");
    return running ? kExitOk : kExitPartial;
  } else {
    fmt::print("{}\n", database_dsn(config));  // whole, for psql "$(fluxwatch db dsn)"
  }
  return kExitOk;
}

}  // namespace

void add_database_commands(CLI::App& app, CommandTable& table) {
  auto* init = app.add_subcommand("init", "Create or upgrade the database schema (idempotent)");
  table.add(init, run_init);

  auto action = std::make_shared<std::string>();
  auto* db = app.add_subcommand("db", "Manage fluxwatch's own PostgreSQL cluster");
  db->add_option("action", *action,
                 "start, stop, status (exit 3 when not running), or dsn (print the DSN in use, "
                 "password included, for psql \"$(fluxwatch db dsn)\")")
      ->check(CLI::IsMember({"start", "stop", "status", "dsn"}));
  table.add(db, [action, db](const config::Config& config) {
    if (action->empty()) {  // bare `fluxwatch db`: say what it does rather than guess
      fmt::print(stderr, "{}", db->help());
      return kExitUsage;
    }
    return run_db(config, *action);
  });

  auto* show = app.add_subcommand(
      "config",
      "Print the effective configuration as YAML (secrets redacted), saying which file "
      "it was read from");
  table.add(show, [](const config::Config& config) {
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
