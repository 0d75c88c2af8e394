#include "fluxwatch/cli/cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <optional>

#include "context.h"
#include "fetch_commands.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/fetch/curl_global.h"
#include "log_sink.h"
#include "progress.h"
#include "service.h"

namespace fluxwatch::cli {
namespace {

void setup_logging(const config::Config& config, const GlobalFlags& flags) {
  std::string level = config.log.level;
  if (flags.verbose) {
    level = "debug";
  } else if (flags.quiet) {
    level = "warn";
  }
  setup_logger(config.log.format, level);
}

}  // namespace

int run(int argc, char** argv) {
  std::optional<fetch::CurlGlobal> curl;  // set up in the try below, before any thread starts
  CLI::App app{
      "fluxwatch: an active-probing fast-flux crawler and measurement service.\n"
      "Resolves a watchlist of suspect domains again and again, enriches every answer with\n"
      "GeoIP/ASN data and stores every snapshot in PostgreSQL.",
      "fluxwatch"};
  app.set_version_flag("--version", FLUXWATCH_VERSION);
  // --help shows every option's default (options and subcommands inherit this).
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  app.footer(
      "Configuration: --config FILE, else $FLUXWATCH_CONFIG, else\n"
      "~/.config/fluxwatch/config.yaml if present, else built-in defaults\n"
      "(see `fluxwatch config`). Database: database.dsn, else the PG* environment,\n"
      "else a PostgreSQL cluster fluxwatch runs itself under state_dir.\n"
      "Exit status: 0 ok, 1 failure, 2 usage or configuration error, 3 partial,\n"
      "4 skipped (run --once: another run of the campaign is in progress).");

  GlobalFlags global;
  app.add_option("-c,--config", global.config_path, "YAML config file")->check(CLI::ExistingFile);
  app.add_option("--state-dir", global.state_dir,
                 "Directory for fluxwatch's own PostgreSQL and state (overrides state_dir)");
  app.add_option("--dsn", global.dsn,
                 "PostgreSQL connection string or URI (overrides database.dsn)");
  app.add_flag("-v,--verbose", global.verbose, "Debug logging");
  app.add_flag("-q,--quiet", global.quiet, "Only warnings and errors on stderr");

  CommandTable commands;
  add_database_commands(app, commands);
  add_watchlist_commands(app, commands);
  add_probe_commands(app, commands);
  add_query_commands(app, commands);
  add_report_commands(app, commands);
  add_fetch_commands(app, commands);
  add_run_commands(app, commands);
  add_score_commands(app, commands);
  add_status_commands(app, commands);
  add_serve_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  try {
    curl.emplace();
    const auto config = load_config(global);
    setup_logging(config, global);
    return commands.dispatch(config);
  } catch (const ConfigError& e) {
    fmt::print(stderr, "fluxwatch: configuration error: {}\n", e.what());
    return kExitUsage;
  } catch (const Error& e) {
    fmt::print(stderr, "fluxwatch: error: {}\n", e.what());
    return kExitFailure;
  } catch (const std::exception& e) {
    fmt::print(stderr, "fluxwatch: unexpected error: {}\n", e.what());
    return kExitFailure;
  }
}

}  // namespace fluxwatch::cli
