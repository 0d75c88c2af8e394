// `fluxwatch query NAME...` (or names on stdin): one-off lookups without a watchlist,
// through the same crawler and GeoIP/ASN enrichment as `probe`, printed as JSON lines
// (query_output.h) for pipelines that use zdns or massdns. --store keeps them too.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "context.h"
#include "crawl_flags.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/watchlist_store.h"
#include "names.h"
#include "probe_summary.h"
#include "query_output.h"

namespace fluxwatch::cli {
namespace {

/// Names resolved (and stored) together; stdin is read this many names at a time, so an
/// endless pipe of names streams through in bounded memory.
constexpr std::size_t kChunkNames = 2000;

struct QueryFlags {
  std::vector<std::string> names;
  CrawlFlags crawl;  ///< --types defaults to A here
  bool store = false;
  std::string vantage;
  std::string metadata_file;
  double resolver_failure_threshold = 1.0;
  double qps = 0;  // overall query rate limit, 0 = none
};

/// Where the names come from: the arguments, else stdin ("-" among the arguments too).
class NameSource {
 public:
  explicit NameSource(const std::vector<std::string>& args) : args_(args) {
    reading_stdin_ = args_.empty() || (args_.size() == 1 && args_.front() == "-");
  }
  /// Up to `limit` more input lines (with their line numbers); empty at the end.
  std::vector<std::pair<std::size_t, std::string>> next(std::size_t limit) {
    std::vector<std::pair<std::size_t, std::string>> out;
    while (out.size() < limit) {
      std::string line;
      if (reading_stdin_) {
        if (!std::getline(std::cin, line)) {
          break;
        }
      } else {
        if (position_ >= args_.size()) {
          break;
        }
        line = args_[position_];
      }
      ++position_;
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') {
        continue;  // blank lines and comments, as in a watchlist
      }
      out.emplace_back(position_, std::move(line));
    }
    return out;
  }
  [[nodiscard]] bool reading_stdin() const noexcept { return reading_stdin_; }

 private:
  const std::vector<std::string>& args_;
  bool reading_stdin_ = false;
  std::size_t position_ = 0;
};

/// Writes the results of stored chunks (probes plus the GeoIP rows of new addresses).
class QueryStore {
 public:
  QueryStore(const config::Config& config, const std::string& settings, geo::Enricher& enricher)
      : db_(open_database(config)), watchlist_(database_dsn(config)), enricher_(enricher) {
    run_id_ = db_.begin_run("query", settings);
  }
  [[nodiscard]] std::int64_t run_id() const noexcept { return run_id_; }

  void store(std::vector<ProbeResult> results) {
    // Names on the watchlist are stored under their domain, so `report` and `score` see them.
    std::vector<std::string> names;
    for (const auto& result : results) {
      names.push_back(result.name);
    }
    std::unordered_map<std::string, std::int64_t> ids;
    for (const auto& watched : watchlist_.find(names)) {
      ids.emplace(watched.domain, watched.id);
    }
    storage::ProbeBatch batch{run_id_, {}, {}, {}};
    for (auto& result : results) {
      if (const auto found = ids.find(result.name); found != ids.end()) {
        result.domain_id = found->second;
      }
      totals_.probes += 1;
      totals_.records += static_cast<std::int64_t>(result.records.size());
      totals_.errors += scheduler::is_failure(result.outcome) ? 1 : 0;
    }
    batch.results = std::move(results);
    enricher_.enrich(batch);  // as `probe` does: the GeoIP rows of addresses not queued yet
    db_.store(batch);
  }
  void finish() { db_.finish_run(run_id_, totals_); }

 private:
  storage::Database db_;
  storage::WatchlistStore watchlist_;
  scheduler::BatchEnricher enricher_;
  std::int64_t run_id_ = 0;
  storage::RunTotals totals_;
};

int run_query(const config::Config& base, const QueryFlags& flags) {
  const auto config = apply_crawl_flags(base, flags.crawl);
  crawler::AresLibrary ares;
  geo::Enricher enricher(geo_options(config));
  crawler::Crawler crawler(crawler_options(config));
  const std::vector<std::string> configured = crawler.servers();
  nlohmann::json settings = nlohmann::json::parse(config::to_json(config));
  settings["command"] = "query";
  settings["qps"] = flags.qps;
  std::optional<QueryStore> store;
  if (flags.store) {
    store.emplace(config, settings.dump(), enricher);
  }
  NameSource source(flags.names);
  if (source.reading_stdin() && isatty(STDIN_FILENO) == 1) {
    spdlog::info("reading names from standard input, one per line (end with Ctrl-D)");
  }

  const auto started_at = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  scheduler::RoundSummary summary;  // the counts of the metadata record
  std::map<std::string, std::size_t> statuses;
  std::size_t names = 0;
  std::size_t illegal = 0;
  const GeoLookup geo = [&](const IpAddress& address) { return enricher.lookup(address); };
  for (auto chunk = source.next(kChunkNames); !chunk.empty(); chunk = source.next(kChunkNames)) {
    std::vector<crawler::Query> queries;
    for (const auto& [line, text] : chunk) {
      const auto normalised = normalise_name(text);
      if (const auto* why = std::get_if<NameError>(&normalised)) {
        ++illegal;
        spdlog::warn("{}{}: skipped: {} (input: '{}')",
                     source.reading_stdin() ? "stdin:" : "argument ", line, why->message,
                     text.substr(0, 200));
        fmt::print("{}\n", illegal_input_json(text, why->message, line));
        continue;
      }
      ++names;
      for (const RrType type : config.probe.record_types) {
        crawler::Query query;
        query.name = std::get<std::string>(normalised);
        query.type = type;
        queries.push_back(std::move(query));
      }
    }
    std::vector<ProbeResult> results;
    scheduler::resolve_at_rate(crawler, queries, flags.qps, [&](ProbeResult&& result) {
      result.vantage = flags.vantage;
      fmt::print("{}\n", query_result_json(result, geo));
      ++statuses[std::string(outcome_name(result.outcome))];
      auto& tally = summary.resolvers[result.resolver];
      ++tally.queries;
      tally.failures += scheduler::is_failure(result.outcome) ? 1 : 0;
      ++summary.queries;
      if (store) {
        results.push_back(std::move(result));
      }
    });
    std::fflush(stdout);  // a consumer downstream sees each chunk as it is done
    if (store) {
      store->store(std::move(results));
    }
  }
  if (store) {
    store->finish();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto unhealthy = unhealthy_resolvers(summary, configured, flags.resolver_failure_threshold);
  warn_unhealthy(unhealthy);

  std::vector<std::string> types;
  for (const RrType type : config.probe.record_types) {
    types.push_back(rrtype_name(static_cast<std::uint16_t>(type)));
  }
  const nlohmann::json metadata{
      {"metadata",
       {{"names", names},
        {"illegal_input", illegal},
        {"queries", summary.queries},
        {"statuses", statuses},
        {"types", types},
        {"resolvers", configured},
        {"dead_resolvers",
         [&] {
           std::vector<std::string> dead;
           for (const auto& u : unhealthy) {
             dead.push_back(u.resolver);
           }
           return dead;
         }()},
        {"start_time", rfc3339_micros(started_at)},
        {"end_time", rfc3339_micros(std::chrono::system_clock::now())},
        {"duration_s", std::round(seconds * 1000.0) / 1000.0},
        {"queries_per_second",
         seconds > 0 ? std::round(static_cast<double>(summary.queries) / seconds * 10.0) / 10.0
                     : 0.0},
        {"timeout_ms", config.probe.timeout.count()},
        {"tries", config.probe.tries},
        {"concurrency", config.probe.concurrency},
        {"qps", flags.qps},
        {"recursion", config.probe.recursion},
        {"geo", geo::build_label(enricher.build_tag())},
        {"stored", flags.store},
        {"run_id", store ? nlohmann::json(store->run_id()) : nlohmann::json(nullptr)},
        {"version", FLUXWATCH_VERSION}}}};
  if (flags.metadata_file.empty()) {
    fmt::print("{}\n", metadata.dump());
  } else {
    std::ofstream out(flags.metadata_file);
    out << metadata.dump() << '\n';
    if (!out) {
      throw Error(fmt::format("--metadata-file {}: cannot write it", flags.metadata_file));
    }
  }
  // Names that are not domains are data (ILLEGAL_INPUT lines), as in zdns: not a failure.
  return unhealthy.empty() ? kExitOk : kExitPartial;
}

}  // namespace

void add_query_commands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<QueryFlags>();
  auto* query = app.add_subcommand(
      "query",
      "Resolve NAME... (or names on stdin, one per line) once, without a watchlist, and print\n"
      "JSON lines: one object per name and type (status, answers with TTLs, ASN/country per\n"
      "address, resolver, timestamp), then one {\"metadata\": ...} object (see README.md).\n"
      "Exit status 3 when a resolver answered nothing (see --resolver-failure-threshold)");
  query->add_option("names", flags->names, "Names to resolve (none or -: read stdin)");
  flags->crawl.types = {"A"};
  add_crawl_flags(*query, flags->crawl, true);
  query
      ->add_option("--qps", flags->qps,
                   "At most this many queries per second over all resolvers (0: no limit; "
                   "bursts of at most 10 ms worth)")
      ->check(CLI::Range(0.0, 10000000.0))
      ->capture_default_str();
  query->add_flag("--store", flags->store,
                  "Also store every result in PostgreSQL (probe_runs kind 'query'; names on the "
                  "watchlist are stored under their domain)");
  query->add_option("--vantage", flags->vantage, "Vantage-point label stored with --store");
  query->add_option("--metadata-file", flags->metadata_file,
                    "Write the metadata object to FILE instead of stdout (as zdns)");
  query
      ->add_option("--resolver-failure-threshold", flags->resolver_failure_threshold,
                   "Share of failed queries at which a resolver is reported dead (exit 3)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  table.add(query, [flags](const config::Config& config) { return run_query(config, *flags); });
}

}  // namespace fluxwatch::cli
