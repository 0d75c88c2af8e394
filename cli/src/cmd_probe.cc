// `fluxwatch probe`: rounds over the whole watchlist, now.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "context.h"
#include "crawl_flags.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/domain_feed.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/watchlist_store.h"
#include "names.h"
#include "probe_summary.h"
#include "progress.h"
#include "run_monitor.h"
#include "service.h"
#include "signals.h"

namespace fluxwatch::cli {
namespace {

/// Flags that override `probe.*`, `resolvers` and `geoip.*` for this run.
struct ProbeFlags {
  CrawlFlags crawl;
  bool no_store = false;
  std::size_t writers = 2;
  bool authoritative = false;
  bool every_resolver = false;
  std::optional<int> authoritative_port;
  std::string vantage;
  int rounds = 1;
  double interval_seconds = 0;
  std::string progress = "auto";
  std::string metrics_file;
  std::string trace;
  std::string format = "text";  // the per-round summary on stdout
  SelectionFlags selection;
  double resolver_failure_threshold = 1.0;
  double outage_tolerance_seconds = 300;
  double qps = 0;  // overall query rate limit, 0 = none
};

config::Config apply_flags(const config::Config& base, const ProbeFlags& flags) {
  auto config = apply_crawl_flags(base, flags.crawl);
  if (flags.authoritative_port) {
    config.probe.authoritative_port = static_cast<std::uint16_t>(*flags.authoritative_port);
  }
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
  const auto started = SteadyClock::now();
  const auto seconds_since = [](SteadyClock::time_point from) {
    return std::chrono::duration<double>(SteadyClock::now() - from).count();
  };
  const auto config = apply_flags(base, flags);
  crawler::AresLibrary ares;
  const std::string dsn = database_dsn(config);
  auto db = open_database(dsn);
  const double database_seconds = seconds_since(started);
  const auto filter = selection_filter(flags.selection);
  // What start-up waits for runs side by side: the watchlist streams in on its own
  // connection (the round starts on the first domains while the rest arrives), the other
  // writers connect, and the enricher and the crawler open.
  scheduler::DomainFeed domains;
  const std::jthread loader([&] {
    try {
      if (!filter.empty()) {
        auto selected = storage::WatchlistStore(dsn).domains(filter);
        domains.expect(selected.size());
        for (auto& domain : selected) {
          domains.push(std::move(domain));
        }
      } else {
        storage::Database(dsn).watched_domains(
            [&](std::size_t count) { domains.expect(count); },
            [&](WatchedDomain&& domain) { domains.push(std::move(domain)); });
      }
      domains.finish();
    } catch (...) {
      domains.fail(std::current_exception());
    }
  });
  // The writers' snapshot of what is stored (answer sets, watched names) is read on a
  // connection of its own while the round starts: the first batch waits for it only if it
  // is not read yet (docs/performance.md, "Round 1: the new sets").
  std::jthread warm_up;
  if (!flags.no_store) {
    warm_up = std::jthread([&dsn] {
      try {
        storage::Database(dsn).warm_up_writer();
      } catch (const std::exception& error) {
        spdlog::debug("probe: the writers' warm-up read failed ({}); their first batch reads it",
                      error.what());
      }
    });
  }
  std::vector<std::future<storage::Database>> connecting;
  for (std::size_t i = 1; !flags.no_store && i < flags.writers; ++i) {
    connecting.push_back(std::async(std::launch::async, [&dsn] { return storage::Database(dsn); }));
  }
  geo::Enricher enricher(geo_options(config));
  crawler::Crawler crawler(crawler_options(config));
  const std::size_t watched = domains.wait_for_total();
  // More connections than the first let PostgreSQL store on more cores (see run_round).
  std::vector<storage::Database> extra_writers;
  for (auto& connection : connecting) {
    extra_writers.push_back(connection.get());
  }
  // Start-up as a user waits for it (bench/run.sh times the whole process).
  spdlog::debug(
      "probe: ready after {:.3f} s (database and migrations {:.3f} s; then the watchlist's count, "
      "{} more writer connection{}, enricher and crawler side by side)",
      seconds_since(started), database_seconds, extra_writers.size(), plural(extra_writers.size()));
  if (watched == 0) {
    if (!filter.empty()) {
      spdlog::warn("no watched domain matches {}: see `fluxwatch watchlist list --long`",
                   describe(filter));
      return kExitPartial;
    }
    spdlog::warn("the watchlist is empty: add domains with 'fluxwatch watchlist import FILE'");
    return kExitOk;
  }
  spdlog::info("probing {} domain{} x {} record type{} via {} (geo: {})", watched, plural(watched),
               config.probe.record_types.size(), plural(config.probe.record_types.size()),
               fmt::join(crawler.servers(), ", "), geo::build_label(enricher.build_tag()));

  scheduler::RoundOptions options;
  options.engine =
      engine_options(config, config.probe.record_types,
                     engine_mode(flags.authoritative, flags.every_resolver), flags.vantage);
  // The bounded buffer while the database is away: about scheduler.buffer_limit results
  // (in normal operation the default few batches keep the writers busy).
  options.outage_batches = std::max<std::size_t>(
      options.queued_batches,
      config.scheduler.buffer_limit / std::max<std::size_t>(config.probe.batch_size, 1));
  options.outage_tolerance =
      std::chrono::milliseconds(static_cast<std::int64_t>(flags.outage_tolerance_seconds * 1000));
  options.qps = flags.qps;
  options.stop = &g_stop;
  options.stop_grace = config.scheduler.shutdown_grace;
  if (flags.authoritative) {
    spdlog::info(
        "authoritative mode: NS sets through the resolvers, then each name server on "
        "port {} with RD=0",
        options.engine.authoritative_port);
  } else if (flags.every_resolver) {
    spdlog::info("every-resolver mode: each name and type goes to all {} resolvers",
                 crawler.servers().size());
  }
  options.store = !flags.no_store;
  RunMonitor monitor(MonitorOptions{"probe", false, false, std::chrono::seconds(60), "",
                                    flags.metrics_file, flags.trace, ""},
                     config);
  options.observer = monitor.observer("");
  std::vector<storage::Database*> writer_list{&db};
  for (auto& extra : extra_writers) {
    writer_list.push_back(&extra);
  }
  const bool show_progress =
      flags.progress == "always" || (flags.progress == "auto" && stderr_is_terminal());
  const std::vector<std::string> configured = crawler.servers();  // before any NS is added
  int status = kExitOk;
  // SIGTERM/SIGINT drain the round (RoundOptions::stop); SIGHUP is logged and ignored.
  install_signal_handlers();
  int round = 1;
  for (; round <= flags.rounds && !g_stop.load(); ++round) {
    if (round > 1 && flags.interval_seconds > 0) {
      count_down(fmt::format("round {}/{}", round, flags.rounds),
                 std::chrono::duration<double>(flags.interval_seconds), show_progress, &g_stop);
      if (g_stop.load()) {
        break;
      }
    }
    options.round = static_cast<std::uint64_t>(round - 1);
    ProgressLine progress(fmt::format("round {}/{}", round, flags.rounds), show_progress);
    if (!flags.authoritative) {  // the total is known up front (it grows as it goes otherwise)
      progress.update(0,
                      domains.total() * config.probe.record_types.size() *
                          (flags.every_resolver ? crawler.servers().size() : 1),
                      0, {});
    }
    const auto summary = scheduler::run_round(
        domains, crawler, enricher, writer_list, options, [&](const scheduler::Progress& state) {
          if (g_hangup.exchange(false)) {
            spdlog::info("SIGHUP: ignored by probe (nothing to reload; SIGTERM/SIGINT stop it)");
          }
          progress.update(state.done, state.total, state.errors, state.elapsed);
        });
    progress.finish();
    log_round(round, summary, options.store);
    monitor.round_done(options.store ? summary.queries : 0, summary.tcp_retries, summary.mismatched,
                       summary.edns_fallbacks);
    const auto unhealthy =
        unhealthy_resolvers(summary, configured, flags.resolver_failure_threshold);
    warn_unhealthy(unhealthy);
    print_round_summary(summary, round, flags.rounds, options.store, unhealthy,
                        flags.format == "json");
    if (!unhealthy.empty()) {
      status = kExitPartial;
    }
    if (summary.abandoned > 0) {
      break;  // the crawler still holds those queries: no further round on it
    }
  }
  monitor.finish(!g_stop.load() && status == kExitOk);
  if (g_stop.load()) {
    spdlog::warn(
        "probe: stopped by a signal after {} of {} round(s); everything probed was stored and "
        "the run closed (exit status {})",
        round - 1, flags.rounds, kExitPartial);
    return kExitPartial;
  }
  return status;
}

}  // namespace

void add_probe_commands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<ProbeFlags>();
  auto* probe = app.add_subcommand(
      "probe",
      "Resolve every watched domain now (one round, or --rounds N) and store the results.\n"
      "SIGTERM/SIGINT: stop sending, let queries in flight finish (scheduler.shutdown_grace_ms),\n"
      "store what came back, close the run and exit 3; SIGHUP is ignored");
  add_crawl_flags(*probe, flags->crawl, false);
  probe
      ->add_option("--qps", flags->qps,
                   "At most this many queries per second over all resolvers (0: no limit; "
                   "bursts of at most 10 ms worth)")
      ->check(CLI::Range(0.0, 10000000.0))
      ->capture_default_str();
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
      ->check(setting_range("probe.authoritative_port"));
  probe->add_flag("--every-resolver", flags->every_resolver,
                  "Ask every --resolver for every name and type (a spatial snapshot) instead of "
                  "spreading the queries over them");
  probe->add_option("--vantage", flags->vantage,
                    "Vantage-point label stored with every probe (where it was sent from)");
  probe->add_option("--rounds", flags->rounds, "Number of rounds")->check(CLI::Range(1, 1000000));
  probe->add_option("--interval", flags->interval_seconds, "Seconds between rounds")
      ->check(CLI::Range(0.0, 86400.0));
  probe
      ->add_option("--outage-tolerance", flags->outage_tolerance_seconds,
                   "Seconds the database may stay away: results wait in a bounded buffer "
                   "(scheduler.buffer_limit), probing pauses when it is full, storing is "
                   "retried; past this the command fails (default 300)")
      ->check(CLI::Range(0.0, 86400.0));
  probe
      ->add_option("--progress", flags->progress,
                   "Progress line: auto (only on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_monitor_flags(*probe, flags->metrics_file, flags->trace);
  probe
      ->add_option("--format", flags->format,
                   "Each round's run id and totals on stdout: text, or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_selection_flags(probe, flags->selection, "probe");
  probe
      ->add_option("--resolver-failure-threshold", flags->resolver_failure_threshold,
                   "A configured resolver whose share of failed queries (no answer: timeouts, "
                   "refused connections) reaches this is reported dead and the exit status is 3")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  table.add(probe, [flags](const config::Config& config) { return run_probe(config, *flags); });
}

}  // namespace fluxwatch::cli
