#pragma once
/// What every command shares: the global flags, the effective configuration, the database
/// in use, and the table that maps a parsed subcommand to the function that runs it.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fluxwatch/config/config.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/engine.h"
#include "fluxwatch/storage/database.h"

namespace CLI {
class App;
}

namespace fluxwatch::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitPartial = 3;

/// Flags shared by every command; they override the config file.
struct GlobalFlags {
  std::string config_path;
  std::string state_dir;
  std::string dsn;
  bool verbose = false;
  bool quiet = false;
};

/// The configuration: --config / $FLUXWATCH_CONFIG / default file / defaults, then flags.
[[nodiscard]] config::Config load_config(const GlobalFlags& flags);
/// The file the last load_config() read; empty when it used the built-in defaults.
[[nodiscard]] const std::filesystem::path& loaded_config_path();

/// fluxwatch's own cluster under state_dir/postgres.
[[nodiscard]] storage::ManagedCluster managed_cluster(const config::Config& config);
/// True when database.dsn is empty and no PG* variable selects a server.
[[nodiscard]] bool uses_managed_cluster(const config::Config& config);
/// The database to use: database.dsn, else the PG* environment, else fluxwatch's own
/// cluster (started on demand).
[[nodiscard]] std::string database_dsn(const config::Config& config);
/// Connects and applies pending migrations.
[[nodiscard]] storage::Database open_database(const config::Config& config);
/// The same for a database_dsn() already known.
[[nodiscard]] storage::Database open_database(const std::string& dsn);

/// The crawler settings of `probe.*` and `resolvers`.
[[nodiscard]] crawler::CrawlerOptions crawler_options(const config::Config& config);

/// The engine settings of `probe.*` for `probe` and `run`: `record_types` in `mode`, with
/// the vantage label, recording config::to_json() with the run.
[[nodiscard]] scheduler::EngineOptions engine_options(const config::Config& config,
                                                      std::vector<RrType> record_types,
                                                      scheduler::EngineMode mode,
                                                      std::string vantage);
/// --authoritative / --every-resolver, or a campaign's mode / resolver_mode, as the mode.
[[nodiscard]] scheduler::EngineMode engine_mode(bool authoritative, bool every_resolver);

/// The GeoIP settings of `geoip.*`.
[[nodiscard]] geo::GeoOptions geo_options(const config::Config& config);

/// "s" when count != 1, for messages.
[[nodiscard]] inline const char* plural(std::size_t count) { return count == 1 ? "" : "s"; }

/// Parsed subcommand -> what runs it. A command file registers its subcommands here.
class CommandTable {
 public:
  using Handler = std::function<int(const config::Config&)>;
  void add(CLI::App* subcommand, Handler handler) {
    entries_.emplace_back(subcommand, std::move(handler));
  }
  /// Runs the handler of the subcommand that was given; kExitUsage if none matched.
  int dispatch(const config::Config& config) const;

 private:
  std::vector<std::pair<CLI::App*, Handler>> entries_;
};

// One function per command file: adds its subcommands to `app` and their handlers.
void add_database_commands(CLI::App& app, CommandTable& table);   // init, db, config
void add_watchlist_commands(CLI::App& app, CommandTable& table);  // watchlist import|list
void add_probe_commands(CLI::App& app, CommandTable& table);      // probe
void add_report_commands(CLI::App& app, CommandTable& table);     // report
void add_run_commands(CLI::App& app, CommandTable& table);        // run (scheduler)
void add_score_commands(CLI::App& app, CommandTable& table);      // score, explain
void add_serve_commands(CLI::App& app, CommandTable& table);      // serve, plot (web/)
void add_query_commands(CLI::App& app, CommandTable& table);      // query (JSON lines)

}  // namespace fluxwatch::cli
