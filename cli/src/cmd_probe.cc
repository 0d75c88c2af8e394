// `fluxwatch probe`: rounds over the whole watchlist, now.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <thread>

#include "context.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/storage/database.h"
#include "progress.h"
#include "run_monitor.h"
#include "service.h"

namespace fluxwatch::cli {
namespace {

/// Flags that override `probe.*`, `resolvers` and `geoip.*` for this run.
struct ProbeFlags {
  std::vector<std::string> resolvers;
  std::vector<std::string> types;
  std::optional<std::size_t> concurrency;
  std::optional<int> timeout_ms;
  std::optional<int> tries;
  bool no_recursion = false;
  bool no_store = false;
  std::size_t writers = 2;
  bool authoritative = false;
  bool every_resolver = false;
  std::optional<int> authoritative_port;
  std::string vantage;
  std::string asn_db;
  std::string city_db;
  int rounds = 1;
  double interval_seconds = 0;
  std::string progress = "auto";
  std::string metrics_file;
  std::string trace;
};

config::Config apply_flags(config::Config config, const ProbeFlags& flags) {
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
        throw ConfigError(
            fmt::format("--types {}: unknown record type (A, AAAA, NS, CNAME, SOA)", text));
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
  if (flags.authoritative_port) {
    config.probe.authoritative_port = static_cast<std::uint16_t>(*flags.authoritative_port);
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

void log_round(int round, const scheduler::RoundSummary& summary, bool stored) {
  std::string outcomes;
  for (const auto& [outcome, count] : summary.outcomes) {
    outcomes += fmt::format("{}{} {}", outcomes.empty() ? "" : ", ", outcome_name(outcome), count);
  }
  const double seconds = summary.elapsed.count();
  spdlog::info("round {} (run {}): {} queries in {:.2f} s ({:.0f}/s), {} records {}, {} errors; {}",
               round, summary.run_id, summary.queries, seconds,
               seconds > 0 ? static_cast<double>(summary.queries) / seconds : 0.0, summary.records,
               stored ? "stored" : "resolved (not stored)", summary.errors,
               outcomes.empty() ? "nothing to probe" : outcomes);
  if (summary.mismatched > 0 || summary.edns_fallbacks > 0) {
    // Spoofing attempts and broken servers: see docs/hostile-dns.md.
    spdlog::info(
        "round {}: {} repl{} matched no query in flight and were dropped; {} quer{} "
        "asked again without EDNS0",
        round, summary.mismatched, summary.mismatched == 1 ? "y" : "ies", summary.edns_fallbacks,
        summary.edns_fallbacks == 1 ? "y was" : "ies were");
  }
}

int run_probe(const config::Config& base, const ProbeFlags& flags) {
  const auto config = apply_flags(base, flags);
  crawler::AresLibrary ares;
  auto db = open_database(config);
  const auto domains = db.watched_domains();
  if (domains.empty()) {
    spdlog::warn("the watchlist is empty: add domains with 'fluxwatch watchlist import FILE'");
    return kExitOk;
  }
  geo::Enricher enricher(geo_options(config));
  crawler::Crawler crawler(crawler_options(config));
  spdlog::info("probing {} domain{} x {} record type{} via {} (geo: {})", domains.size(),
               plural(domains.size()), config.probe.record_types.size(),
               plural(config.probe.record_types.size()), fmt::join(crawler.servers(), ", "),
               enricher.build_tag());

  scheduler::RoundOptions options;
  options.record_types = config.probe.record_types;
  options.batch_size = config.probe.batch_size;
  options.authoritative = flags.authoritative;
  options.every_resolver = flags.every_resolver;
  options.authoritative_port = config.probe.authoritative_port;
  options.authoritative_max_servers = config.probe.authoritative_max_servers;
  options.vantage = flags.vantage;
  if (flags.authoritative) {
    spdlog::info(
        "authoritative mode: NS sets through the resolvers, then each name server on "
        "port {} with RD=0",
        options.authoritative_port);
  } else if (flags.every_resolver) {
    spdlog::info("every-resolver mode: each name and type goes to all {} resolvers",
                 crawler.servers().size());
  }
  options.settings_json = config::to_json(config);
  options.store = !flags.no_store;
  RunMonitor monitor(MonitorOptions{"probe", false, false, std::chrono::seconds(60), "",
                                    flags.metrics_file, flags.trace, ""},
                     config);
  options.observer = monitor.observer("");
  // More connections than the first let PostgreSQL store on more cores (see run_round).
  std::vector<storage::Database> extra_writers;
  std::vector<storage::Database*> writer_list{&db};
  for (std::size_t i = 1; options.store && i < flags.writers; ++i) {
    extra_writers.push_back(storage::Database(database_dsn(config)));
  }
  for (auto& extra : extra_writers) {
    writer_list.push_back(&extra);
  }
  const bool show_progress =
      flags.progress == "always" || (flags.progress == "auto" && stderr_is_terminal());
  for (int round = 1; round <= flags.rounds; ++round) {
    if (round > 1 && flags.interval_seconds > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(flags.interval_seconds));
    }
    ProgressLine progress(fmt::format("round {}/{}", round, flags.rounds), show_progress);
    const auto summary = scheduler::run_round(
        domains, crawler, enricher, writer_list, options, [&](const scheduler::Progress& state) {
          progress.update(state.done, state.total, state.errors, state.elapsed);
        });
    progress.finish();
    log_round(round, summary, options.store);
    monitor.round_done(options.store ? summary.queries : 0, summary.tcp_retries, summary.mismatched,
                       summary.edns_fallbacks);
  }
  monitor.finish(true);
  return kExitOk;
}

}  // namespace

void add_probe_commands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<ProbeFlags>();
  auto* probe = app.add_subcommand(
      "probe", "Resolve every watched domain now (one round, or --rounds N) and store the results");
  probe->add_option("--resolver", flags->resolvers,
                    "DNS server ip[:port] (repeatable; overrides `resolvers`)");
  probe->add_option("--types", flags->types, "Record types, e.g. A,AAAA,NS")->delimiter(',');
  probe->add_option("--concurrency", flags->concurrency, "Queries in flight")
      ->check(CLI::Range(1, 100000));
  probe
      ->add_option("--timeout-ms", flags->timeout_ms,
                   "Timeout of the first try in milliseconds (doubled on each retry)")
      ->check(CLI::Range(10, 60000));
  probe->add_option("--tries", flags->tries, "Tries per query")->check(CLI::Range(1, 10));
  probe->add_flag("--no-recursion", flags->no_recursion,
                  "Clear the RD bit (for asking authoritative servers)");
  probe->add_flag("--no-store", flags->no_store,
                  "Resolve (and enrich) but store nothing: for measuring resolution alone");
  probe
      ->add_option("--writers", flags->writers,
                   "PostgreSQL connections storing results in parallel (default 2)")
      ->check(CLI::Range(1, 16));
  probe->add_flag("--authoritative", flags->authoritative,
                  "Per domain, find the NS set through the resolvers, then ask each of the "
                  "domain's name servers directly (RD=0); stores the NS set, every server's SOA "
                  "serial, and LAME for servers that answer without the AA bit");
  probe
      ->add_option("--authoritative-port", flags->authoritative_port,
                   "Port of the domains' name servers in --authoritative mode (overrides "
                   "`probe.authoritative_port`, default 53)")
      ->check(CLI::Range(1, 65535));
  probe->add_flag("--every-resolver", flags->every_resolver,
                  "Ask every --resolver for every name and type (a spatial snapshot) instead of "
                  "spreading the queries over them");
  probe->add_option("--vantage", flags->vantage,
                    "Vantage-point label stored with every probe (where it was sent from)");
  probe->add_option("--asn-db", flags->asn_db, "GeoLite2-ASN shaped MMDB file");
  probe->add_option("--city-db", flags->city_db, "GeoLite2-City shaped MMDB file");
  probe->add_option("--rounds", flags->rounds, "Number of rounds")->check(CLI::Range(1, 1000000));
  probe->add_option("--interval", flags->interval_seconds, "Seconds between rounds")
      ->check(CLI::Range(0.0, 86400.0));
  probe
      ->add_option("--progress", flags->progress,
                   "Progress line: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_monitor_flags(*probe, flags->metrics_file, flags->trace);
  table.add(probe, [flags](const config::Config& config) { return run_probe(config, *flags); });
}

}  // namespace fluxwatch::cli
