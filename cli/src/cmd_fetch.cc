// `fluxwatch feeds refresh|list`, `fluxwatch geo update`, `fluxwatch http-probe` and the URL
// branch of `fluxwatch watchlist import`: the libcurl-based commands (fluxwatch::fetch).
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "context.h"
#include "fetch_commands.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/utc_time.h"
#include "fluxwatch/fetch/feeds.h"
#include "fluxwatch/fetch/geo_update.h"
#include "fluxwatch/fetch/maintenance.h"
#include "fluxwatch/storage/feed_store.h"

namespace fluxwatch::cli {
namespace {

std::string when(const std::optional<std::chrono::system_clock::time_point>& time) {
  if (!time) {
    return "-";
  }
  return format_iso8601_utc(*time);
}

/// Prints one outcome; true if it failed.
bool print_outcome(const fetch::FeedOutcome& outcome) {
  using Kind = fetch::FeedOutcome::Kind;
  for (const auto& problem : outcome.problems) {
    spdlog::warn("{}:{}: skipped: {} (line: '{}')", outcome.url, problem.line, problem.message,
                 problem.text);
  }
  switch (outcome.kind) {
    case Kind::Imported:
      fmt::print(
          "{}: imported {} domain{}: {} new, {} already watched, {} newly listed, {} no "
          "longer listed, {} rejected line{}\n",
          outcome.url, outcome.entries, plural(outcome.entries), outcome.added, outcome.existing,
          outcome.new_listings, outcome.delisted, outcome.problems.size(),
          plural(outcome.problems.size()));
      return false;
    case Kind::NotModified:
      fmt::print("{}: not modified (HTTP {}); keeping the {} listed domain{}\n", outcome.url,
                 outcome.http_status, outcome.entries, plural(outcome.entries));
      return false;
    case Kind::NotDue:
      fmt::print("{}: not due yet{}{} (--all refreshes it now)\n", outcome.url,
                 outcome.detail.empty() ? "" : ": ", outcome.detail);
      return false;
    case Kind::Failed:
      fmt::print(stderr, "{}: failed: {}; {}\n", outcome.url, outcome.error,
                 outcome.had_previous_import ? "the previous import is kept"
                                             : "nothing was imported from it");
      return true;
  }
  return true;
}

int run_feeds_refresh(const config::Config& config, bool all) {
  if (config.feeds.empty()) {
    throw ConfigError("feeds: no feeds configured (add a `feeds:` list to the config file)");
  }
  auto db = open_database(config);  // migrates
  fetch::FeedRefresher refresher(database_dsn(config), fetch::fetch_options(config, false));
  std::vector<fetch::FeedOutcome> outcomes;
  if (all) {
    for (const auto& feed : config.feeds) {
      outcomes.push_back(refresher.refresh(fetch::feed_spec(feed)));
    }
  } else {
    std::vector<fetch::FeedSpec> specs;
    for (const auto& feed : config.feeds) {
      specs.push_back(fetch::feed_spec(feed));
    }
    outcomes = refresher.refresh_due(specs, std::chrono::system_clock::now());
  }
  std::size_t failed = 0;
  for (const auto& outcome : outcomes) {
    failed += print_outcome(outcome) ? 1 : 0;
  }
  if (failed == 0) {
    return kExitOk;
  }
  return failed == outcomes.size() ? kExitFailure : kExitPartial;
}

int run_feeds_list(const config::Config& config) {
  auto db = open_database(config);
  storage::FeedStore store(database_dsn(config));
  fmt::print("{:<50} {:>6} {:>7} {:>6} {:<20} {:<20} {}\n", "url", "format", "listed", "status",
             "last_success", "last_attempt", "last_error");
  for (const auto& feed : store.feeds()) {
    fmt::print("{:<50} {:>6} {:>7} {:>6} {:<20} {:<20} {}\n",
               fetch::redact_url(feed.definition.url), feed.definition.format, feed.listed_now,
               feed.last_status, when(feed.last_success_at), when(feed.last_attempt_at),
               feed.last_error.empty() ? "-" : feed.last_error);
  }
  return kExitOk;
}

int run_geo_update(const config::Config& config) {
  const auto plan = fetch::plan_geo_updates(config);
  fetch::HttpClient client(fetch::fetch_options(config, true));
  std::size_t failed = 0;
  for (const auto& download : plan) {
    const auto result = fetch::update_geo_database(client, download);
    if (result.replaced) {
      fmt::print("{}: installed {} ({}, built {:%Y-%m-%d})\n", result.url, result.target,
                 result.database_type, fmt::gmtime(static_cast<std::time_t>(result.build_epoch)));
    } else {
      ++failed;
      fmt::print(stderr, "{}: refused: {}; {} is unchanged\n", result.url, result.error,
                 result.target);
    }
  }
  if (failed == 0) {
    fmt::print("a running `fluxwatch run` picks the new databases up on SIGHUP\n");
    return kExitOk;
  }
  return failed == plan.size() ? kExitFailure : kExitPartial;
}

struct HttpProbeFlags {
  std::string campaign;
  int since_minutes = 0;
  std::size_t limit = 10000;
  std::uint16_t connect_port = 0;
};

int run_http_probe(const config::Config& config, const HttpProbeFlags& flags) {
  if (!config.http_probe.enabled) {
    throw ConfigError(
        "http_probe.enabled is false: HTTP probing fetches pages from suspect hosts, so it is "
        "opt-in; set http_probe.enabled: true in the config file");
  }
  auto db = open_database(config);
  fetch::FetchMaintenance maintenance(config, database_dsn(config));
  fetch::HttpProbeRequest request;
  request.campaign = flags.campaign;
  if (flags.since_minutes > 0) {
    request.since = std::chrono::system_clock::now() - std::chrono::minutes(flags.since_minutes);
  }
  request.limit = flags.limit;
  request.connect_port = flags.connect_port;
  const auto summary = maintenance.probe_new_addresses(request);
  fmt::print("http-probe: {} fetch{}, {} with a response, {} without\n", summary.targets,
             summary.targets == 1 ? "" : "es", summary.responses, summary.failures);
  return kExitOk;
}

}  // namespace

bool is_fetchable_url(const std::string& text) {
  return text.starts_with("http://") || text.starts_with("https://") || text.starts_with("file://");
}

int import_watchlist_url(const config::Config& config, const UrlImport& import) {
  const auto format = fetch::parse_feed_format(import.format);
  if (!format) {
    throw ConfigError(fmt::format("--format: '{}' is not plain, csv or jsonl", import.format));
  }
  fetch::FeedSpec spec;
  spec.url = import.url;
  spec.format = *format;
  spec.column = import.column;
  spec.tags = import.tags;
  spec.source = import.source;
  auto db = open_database(config);  // migrates
  fetch::FeedRefresher refresher(database_dsn(config), fetch::fetch_options(config, false));
  const auto outcome = refresher.refresh(spec);
  if (print_outcome(outcome)) {
    // A one-off import that never worked (a typo in the URL) leaves no feed behind; a
    // configured feed keeps its row and its failure count.
    const bool configured = std::ranges::any_of(
        config.feeds, [&](const auto& feed) { return fetch::feed_spec(feed).url == spec.url; });
    if (!configured && !outcome.had_previous_import) {
      storage::FeedStore(database_dsn(config)).forget_never_imported(outcome.feed_id);
    }
    return kExitFailure;
  }
  return import.strict && !outcome.problems.empty() ? kExitPartial : kExitOk;
}

void add_fetch_commands(CLI::App& app, CommandTable& table) {
  auto* feeds = app.add_subcommand("feeds", "Watchlist feeds from the config's `feeds:` list");
  feeds->require_subcommand(1);
  auto all = std::make_shared<bool>(false);
  auto* refresh = feeds->add_subcommand(
      "refresh",
      "Fetch the feeds that are due (conditional requests; a failed feed keeps its previous\n"
      "import; domains a feed no longer lists are marked delisted, never deleted)");
  refresh->add_flag("--all", *all, "Refresh every feed now, due or not");
  table.add(refresh,
            [all](const config::Config& config) { return run_feeds_refresh(config, *all); });
  auto* list = feeds->add_subcommand("list", "Show each feed's state");
  table.add(list, [](const config::Config& config) { return run_feeds_list(config); });

  auto* geo = app.add_subcommand("geo", "GeoIP/ASN databases");
  geo->require_subcommand(1);
  auto* update = geo->add_subcommand(
      "update",
      "Download the databases configured under geoip.update, verify them with libmaxminddb\n"
      "and replace geoip.asn_database / geoip.city_database atomically");
  table.add(update, [](const config::Config& config) { return run_geo_update(config); });

  auto flags = std::make_shared<HttpProbeFlags>();
  auto* http = app.add_subcommand(
      "http-probe",
      "Fetch http://DOMAIN/ from every address the DNS probes found that was not fetched yet,\n"
      "pinned to that address (needs http_probe.enabled: true)");
  http->add_option("--campaign", flags->campaign, "Only addresses from this campaign's probes");
  http->add_option("--since-minutes", flags->since_minutes,
                   "Only addresses seen in the last N minutes");
  http->add_option("--limit", flags->limit, "At most N (domain, address) pairs");
  http->add_option("--connect-port", flags->connect_port,
                   "Connect to this port instead of 80 (testing against local servers)")
      ->group("");
  table.add(http, [flags](const config::Config& config) { return run_http_probe(config, *flags); });
}

}  // namespace fluxwatch::cli
