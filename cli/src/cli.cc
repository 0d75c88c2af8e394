#include "fluxwatch/cli/cli.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "fluxwatch/common/error.h"
#include "fluxwatch/config/config.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/report/report.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/watchlist/parser.h"
#include "progress.h"

namespace fluxwatch::cli {
namespace {

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

/// Flags of `fluxwatch probe` that override `probe.*`, `resolvers` and `geoip.*`.
struct ProbeFlags {
  std::vector<std::string> resolvers;
  std::vector<std::string> types;
  std::optional<std::size_t> concurrency;
  std::optional<int> timeout_ms;
  std::optional<int> tries;
  bool no_recursion = false;
  std::string asn_db;
  std::string city_db;
  int rounds = 1;
  double interval_seconds = 0;
  std::string progress = "auto";
};

void setup_logging(const config::Config& config, const GlobalFlags& flags) {
  auto logger = spdlog::stderr_color_mt("fluxwatch");
  logger->set_pattern(stderr_is_terminal() ? "%^%l%$: %v" : "%Y-%m-%dT%H:%M:%S%z fluxwatch %l: %v");
  spdlog::set_default_logger(logger);
  auto level = spdlog::level::from_str(config.log.level);
  if (flags.verbose) {
    level = spdlog::level::debug;
  } else if (flags.quiet) {
    level = spdlog::level::warn;
  }
  spdlog::set_level(level);
}

config::Config load_config(const GlobalFlags& flags) {
  const std::filesystem::path path =
      flags.config_path.empty() ? config::default_config_path() : std::filesystem::path(flags.config_path);
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

bool libpq_environment_set() {
  for (const char* name : {"PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSERVICE", "PGPORT"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') {
      return true;
    }
  }
  return false;
}

storage::ManagedCluster managed_cluster(const config::Config& config) {
  return storage::ManagedCluster((config.state_dir / "postgres").string());
}

/// The database to use: database.dsn, else the PG* environment, else fluxwatch's own
/// cluster under state_dir (started on demand).
std::string database_dsn(const config::Config& config) {
  if (!config.database.dsn.empty()) {
    return config.database.dsn;
  }
  if (libpq_environment_set()) {
    return "";
  }
  auto cluster = managed_cluster(config);
  if (!cluster.running()) {
    spdlog::info("starting fluxwatch's own PostgreSQL in {}", cluster.data_dir());
  }
  cluster.ensure_running();
  return cluster.dsn();
}

storage::Database open_database(const config::Config& config) {
  storage::Database db(database_dsn(config));
  db.migrate();
  return db;
}

// --- commands ------------------------------------------------------------------------

int cmd_init(const config::Config& config) {
  const auto dsn = database_dsn(config);
  storage::Database db(dsn);
  const int applied = db.migrate();
  fmt::print("database ready: schema version {} ({} migration{} applied now)\n",
             db.schema_version(), applied, applied == 1 ? "" : "s");
  if (config.database.dsn.empty() && !libpq_environment_set()) {
    fmt::print("managed PostgreSQL: {} (connect with: psql \"{}\")\n",
               managed_cluster(config).data_dir(), dsn);
  }
  return kExitOk;
}

int cmd_import(const config::Config& config, const std::string& file, std::string source,
               const std::vector<std::string>& extra_tags, bool strict) {
  watchlist::ParseResult parsed;
  if (file == "-") {
    parsed = watchlist::parse(std::cin);
    source = source.empty() ? "stdin" : source;
  } else {
    std::ifstream in(file);
    if (!in) {
      throw Error(fmt::format("cannot read watchlist {}: check the path", file));
    }
    parsed = watchlist::parse(in);
    source = source.empty() ? std::filesystem::path(file).filename().string() : source;
  }
  for (const auto& problem : parsed.problems) {
    spdlog::warn("{}:{}: skipped: {} (line: '{}')", file == "-" ? "stdin" : file, problem.line,
                 problem.message, problem.text);
  }
  std::vector<storage::WatchEntry> entries;
  entries.reserve(parsed.entries.size());
  for (auto& entry : parsed.entries) {
    auto tags = std::move(entry.tags);
    for (const auto& tag : extra_tags) {
      if (std::ranges::find(tags, tag) == tags.end()) {
        tags.push_back(tag);
      }
    }
    entries.push_back({std::move(entry.domain), source, std::move(tags)});
  }
  auto db = open_database(config);
  const auto stats = db.import_watchlist(entries);
  fmt::print("imported {} domain{} from {}: {} new, {} already watched, {} duplicate line{}, {} "
             "rejected line{}\n",
             entries.size(), entries.size() == 1 ? "" : "s", source, stats.added, stats.existing,
             parsed.duplicates, parsed.duplicates == 1 ? "" : "s", parsed.problems.size(),
             parsed.problems.size() == 1 ? "" : "s");
  return strict && !parsed.problems.empty() ? kExitPartial : kExitOk;
}

int cmd_watchlist_list(const config::Config& config, const std::string& format) {
  auto db = open_database(config);
  const auto domains = db.watched_domains();
  if (format == "json") {
    fmt::print("[");
    for (std::size_t i = 0; i < domains.size(); ++i) {
      fmt::print("{}{{\"id\": {}, \"domain\": \"{}\"}}", i == 0 ? "" : ", ", domains[i].id,
                 domains[i].domain);  // normalised names hold no characters JSON must escape
    }
    fmt::print("]\n");
  } else {
    for (const auto& domain : domains) {
      fmt::print("{}\n", domain.domain);
    }
  }
  return kExitOk;
}

config::Config apply_probe_flags(config::Config config, const ProbeFlags& flags) {
  if (!flags.resolvers.empty()) {
    config.resolvers.clear();
    for (const auto& text : flags.resolvers) {
      auto endpoint = parse_endpoint(text);
      if (!endpoint) {
        throw ConfigError(fmt::format("--resolver {}: not ip[:port] (e.g. 127.0.0.1:5300)", text));
      }
      config.resolvers.push_back(*endpoint);
    }
  }
  if (!flags.types.empty()) {
    config.probe.record_types.clear();
    for (const auto& text : flags.types) {
      auto type = parse_rrtype(text);
      if (!type) {
        throw ConfigError(fmt::format("--types {}: unknown record type (A, AAAA, NS, CNAME, SOA)", text));
      }
      config.probe.record_types.push_back(*type);
    }
  }
  if (flags.concurrency) {
    config.probe.concurrency = *flags.concurrency;
  }
  if (flags.timeout_ms) {
    config.probe.timeout = std::chrono::milliseconds(*flags.timeout_ms);
  }
  if (flags.tries) {
    config.probe.tries = *flags.tries;
  }
  if (flags.no_recursion) {
    config.probe.recursion = false;
  }
  if (!flags.asn_db.empty()) {
    config.geoip.asn_database = flags.asn_db;
  }
  if (!flags.city_db.empty()) {
    config.geoip.city_database = flags.city_db;
  }
  config.validate();
  return config;
}

void print_round_summary(int round, const scheduler::RoundSummary& summary) {
  std::string outcomes;
  for (const auto& [outcome, count] : summary.outcomes) {
    outcomes += fmt::format("{}{} {}", outcomes.empty() ? "" : ", ", outcome_name(outcome), count);
  }
  const double seconds = summary.elapsed.count();
  spdlog::info("round {} (run {}): {} queries in {:.2f} s ({:.0f}/s), {} records stored, {} errors; {}",
               round, summary.run_id, summary.queries, seconds,
               seconds > 0 ? static_cast<double>(summary.queries) / seconds : 0.0, summary.records,
               summary.errors, outcomes.empty() ? "nothing to probe" : outcomes);
}

int cmd_probe(const config::Config& base, const ProbeFlags& flags) {
  const auto config = apply_probe_flags(base, flags);
  auto db = open_database(config);
  const auto domains = db.watched_domains();
  if (domains.empty()) {
    spdlog::warn("the watchlist is empty: add domains with 'fluxwatch watchlist import FILE'");
    return kExitOk;
  }
  geo::Enricher enricher(geo::GeoOptions{config.geoip.asn_database, config.geoip.city_database,
                                         config.geoip.cache_entries});
  crawler::CrawlerOptions options;
  options.servers = config.resolvers;
  options.max_in_flight = config.probe.concurrency;
  options.timeout = config.probe.timeout;
  options.tries = config.probe.tries;
  options.recursion_desired = config.probe.recursion;
  options.edns = config.probe.edns;
  options.edns_udp_size = config.probe.edns_udp_size;
  options.socket_buffer_bytes = config.probe.socket_buffer_bytes;
  crawler::Crawler crawler(options);
  spdlog::info("probing {} domain{} x {} record type{} via {} (geo: {})", domains.size(),
               domains.size() == 1 ? "" : "s", config.probe.record_types.size(),
               config.probe.record_types.size() == 1 ? "" : "s",
               fmt::join(crawler.servers(), ", "), enricher.build_tag());

  scheduler::RoundOptions round_options;
  round_options.record_types = config.probe.record_types;
  round_options.batch_size = config.probe.batch_size;
  round_options.settings_json = config::to_json(config);
  const bool show_progress = flags.progress == "always" ||
                             (flags.progress == "auto" && stderr_is_terminal());
  std::size_t total_errors = 0;
  for (int round = 1; round <= flags.rounds; ++round) {
    if (round > 1 && flags.interval_seconds > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(flags.interval_seconds));
    }
    ProgressLine progress(fmt::format("round {}/{}", round, flags.rounds), show_progress);
    const auto summary = scheduler::run_round(
        domains, crawler, enricher, db, round_options, [&](const scheduler::Progress& p) {
          progress.update(p.done, p.total, p.errors, p.elapsed);
        });
    progress.finish();
    print_round_summary(round, summary);
    total_errors += summary.errors;
  }
  return kExitOk;
}

int cmd_report(const config::Config& config, const std::string& format_text) {
  const auto format = report::parse_format(format_text);
  if (!format) {
    throw ConfigError(fmt::format("--format {}: use table, csv or json", format_text));
  }
  auto db = open_database(config);
  fmt::print("{}", report::render(db.summaries(), *format));
  return kExitOk;
}

int cmd_db(const config::Config& config, const std::string& action) {
  auto cluster = managed_cluster(config);
  if (action == "start") {
    cluster.ensure_running();
    fmt::print("running: {}\n", cluster.dsn());
  } else if (action == "stop") {
    cluster.stop();
    fmt::print("stopped: {}\n", cluster.data_dir());
  } else if (action == "status") {
    fmt::print("{}: {}\n", cluster.data_dir(), cluster.running() ? "running" : "not running");
    return cluster.running() ? kExitOk : kExitPartial;
  } else {
    fmt::print("{}\n", database_dsn(config));
  }
  return kExitOk;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{
      "fluxwatch: an active-probing fast-flux crawler and measurement service.\n"
      "Resolves a watchlist of suspect domains again and again, enriches every answer with\n"
      "GeoIP/ASN data and stores every snapshot in PostgreSQL.",
      "fluxwatch"};
  app.set_version_flag("--version", FLUXWATCH_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Configuration: --config FILE, else $FLUXWATCH_CONFIG, else\n"
      "~/.config/fluxwatch/config.yaml if present, else built-in defaults\n"
      "(see `fluxwatch config show`). Database: database.dsn, else the PG* environment,\n"
      "else a PostgreSQL cluster fluxwatch runs itself under state_dir.\n"
      "Exit status: 0 ok, 1 failure, 2 usage or configuration error, 3 partial.");

  GlobalFlags global;
  app.add_option("-c,--config", global.config_path, "YAML config file")->check(CLI::ExistingFile);
  app.add_option("--state-dir", global.state_dir,
                 "Directory for fluxwatch's own PostgreSQL and state (overrides state_dir)");
  app.add_option("--dsn", global.dsn,
                 "PostgreSQL connection string or URI (overrides database.dsn)");
  app.add_flag("-v,--verbose", global.verbose, "Debug logging");
  app.add_flag("-q,--quiet", global.quiet, "Only warnings and errors on stderr");

  auto* init = app.add_subcommand("init", "Create or upgrade the database schema (idempotent)");

  auto* watchlist_cmd = app.add_subcommand("watchlist", "Manage the watchlist");
  watchlist_cmd->require_subcommand(1);
  std::string import_file;
  std::string import_source;
  std::vector<std::string> import_tags;
  bool import_strict = false;
  auto* import = watchlist_cmd->add_subcommand(
      "import",
      "Import domains from FILE ('-' for stdin): one per line, '#' comments, optional CSV\n"
      "columns domain,tags (tags separated by ';'). Bad lines are reported with their line\n"
      "number and skipped; re-importing never duplicates a domain.");
  import->add_option("file", import_file, "Watchlist file, or - for standard input")->required();
  import->add_option("--source", import_source, "Source label stored with the domains (default: file name)");
  import->add_option("--tag", import_tags, "Tag to add to every imported domain (repeatable)");
  import->add_flag("--strict", import_strict, "Exit with status 3 if any line was rejected");
  std::string list_format = "text";
  auto* list = watchlist_cmd->add_subcommand("list", "Print the watched domains");
  list->add_option("--format", list_format, "text or json")->check(CLI::IsMember({"text", "json"}));

  ProbeFlags probe_flags;
  auto* probe = app.add_subcommand(
      "probe", "Resolve every watched domain now (one round, or --rounds N) and store the results");
  probe->add_option("--resolver", probe_flags.resolvers,
                    "DNS server ip[:port] (repeatable; overrides `resolvers`)");
  probe->add_option("--types", probe_flags.types, "Record types, e.g. A,AAAA,NS")->delimiter(',');
  probe->add_option("--concurrency", probe_flags.concurrency, "Queries in flight")
      ->check(CLI::Range(1, 100000));
  probe->add_option("--timeout-ms", probe_flags.timeout_ms, "Timeout per try in milliseconds")
      ->check(CLI::Range(10, 60000));
  probe->add_option("--tries", probe_flags.tries, "Tries per query")->check(CLI::Range(1, 10));
  probe->add_flag("--no-recursion", probe_flags.no_recursion,
                  "Clear the RD bit (for asking authoritative servers)");
  probe->add_option("--asn-db", probe_flags.asn_db, "GeoLite2-ASN shaped MMDB file");
  probe->add_option("--city-db", probe_flags.city_db, "GeoLite2-City shaped MMDB file");
  probe->add_option("--rounds", probe_flags.rounds, "Number of rounds")->check(CLI::Range(1, 1000000));
  probe->add_option("--interval", probe_flags.interval_seconds, "Seconds between rounds")
      ->check(CLI::Range(0.0, 86400.0));
  probe->add_option("--progress", probe_flags.progress,
                    "Progress line: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  std::string report_format = "table";
  auto* report_cmd = app.add_subcommand(
      "report", "Per-domain summary: probes, distinct addresses, ASNs, countries, NS names, "
                "min TTL, last outcome");
  report_cmd->add_option("--format", report_format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));

  std::string db_action = "dsn";
  auto* db_cmd = app.add_subcommand("db", "Manage fluxwatch's own PostgreSQL cluster");
  db_cmd->add_option("action", db_action, "start, stop, status, or dsn (print the DSN in use)")
      ->check(CLI::IsMember({"start", "stop", "status", "dsn"}));

  auto* config_cmd = app.add_subcommand("config", "Show the effective configuration as YAML");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  try {
    const auto config = load_config(global);
    setup_logging(config, global);
    if (*init) {
      return cmd_init(config);
    }
    if (*import) {
      return cmd_import(config, import_file, import_source, import_tags, import_strict);
    }
    if (*list) {
      return cmd_watchlist_list(config, list_format);
    }
    if (*probe) {
      crawler::AresLibrary ares;
      return cmd_probe(config, probe_flags);
    }
    if (*report_cmd) {
      return cmd_report(config, report_format);
    }
    if (*db_cmd) {
      return cmd_db(config, db_action);
    }
    if (*config_cmd) {
      fmt::print("{}", config::to_yaml(config));
      return kExitOk;
    }
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
  return kExitUsage;
}

}  // namespace fluxwatch::cli
