// `fluxwatch score`: features, Holz flux-score and labels of every watched domain over a
// window, stored as one score run. `fluxwatch explain DOMAIN`: one domain's newest score with
// its reasons and the addresses behind it.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "context.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/utc_time.h"
#include "fluxwatch/scoring/classifier.h"
#include "fluxwatch/scoring/score_store.h"
#include "fluxwatch/scoring/time_arg.h"
#include "fluxwatch/storage/watchlist_store.h"
#include "names.h"
#include "read_access.h"

namespace fluxwatch::cli {
namespace {

struct WindowFlags {
  std::string since;
  std::string until;
  std::string campaign;
};

void add_window_flags(CLI::App* command, WindowFlags& flags) {
  command->add_option("--since", flags.since,
                      "Window start: 2026-11-22T18:00:00Z, 2026-11-22, or a duration back from "
                      "now (90s, 30m, 24h, 7d). Default: scoring.window_hours (0 = all history)");
  command->add_option("--until", flags.until, "Window end (exclusive), same forms. Default: now");
  command->add_option("--campaign", flags.campaign, "Only probes of this campaign");
}

/// An unknown --campaign is a typo, not an empty window: it must be configured or have
/// probes.
void check_campaign(const config::Config& config, const std::string& campaign) {
  if (campaign.empty()) {
    return;
  }
  std::vector<std::string> known;
  for (const auto& c : config.campaigns) {
    known.push_back(c.name);
  }
  if (std::ranges::find(known, campaign) != known.end()) {
    return;
  }
  storage::WatchlistStore store(read_dsn_or_primary(config));
  if (store.campaign_has_probes(campaign)) {
    return;
  }
  throw ConfigError(fmt::format(
      "--campaign {}: no such campaign (configured: {}; no probe was stored under that name)",
      campaign, known.empty() ? std::string("none") : fmt::format("{}", fmt::join(known, ", "))));
}

scoring::Window make_window(const WindowFlags& flags, const config::Config& config) {
  const auto now = std::chrono::system_clock::now();
  scoring::Window window;
  check_campaign(config, flags.campaign);
  window.campaign = flags.campaign;
  const auto parse = [&](const std::string& text, const char* flag) {
    auto when = scoring::parse_time_arg(text, now);
    if (!when) {
      throw ConfigError(
          fmt::format("{} '{}': expected a time like 2026-11-22T18:00:00Z or "
                      "2026-11-22, or a duration like 24h or 7d",
                      flag, text));
    }
    return *when;
  };
  if (!flags.since.empty()) {
    window.since = parse(flags.since, "--since");
  } else if (config.scoring.window_hours > 0) {
    window.since = now - std::chrono::hours(config.scoring.window_hours);
  }
  if (!flags.until.empty()) {
    window.until = parse(flags.until, "--until");
  }
  if (window.since && window.until && *window.since >= *window.until) {
    throw ConfigError("--since must be before --until");
  }
  return window;
}

std::string time_text(std::chrono::system_clock::time_point when) {
  return format_iso8601_utc(when);
}

template <typename T>
nlohmann::json opt_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

template <typename T>
std::string opt_text(const std::optional<T>& value, const char* spec = "{}") {
  return value ? fmt::format(fmt::runtime(spec), *value) : std::string("-");
}

nlohmann::json features_json(const scoring::Features& f) {
  return {{"probes", f.probes},
          {"address_probes", f.address_probes},
          {"answered_lookups", f.answered_lookups},
          {"max_answer_size", f.max_answer_size},
          {"ipv4_addresses", f.ipv4_addresses},
          {"ipv6_addresses", f.ipv6_addresses},
          {"asns", f.asns},
          {"ipv4_asns", f.ipv4_asns},
          {"countries", f.countries},
          {"prefixes", f.prefixes},
          {"country_entropy", opt_json(f.country_entropy)},
          {"geo_dispersion_km", opt_json(f.geo_dispersion_km)},
          {"min_ttl", opt_json(f.min_ttl)},
          {"median_ttl", opt_json(f.median_ttl)},
          {"ns_min_ttl", opt_json(f.ns_min_ttl)},
          {"ns_median_ttl", opt_json(f.ns_median_ttl)},
          {"ns_names", f.ns_names},
          {"ns_addresses", f.ns_addresses},
          {"ns_asns", f.ns_asns},
          {"new_address_ratio", opt_json(f.new_address_ratio)},
          {"set_change_ratio", opt_json(f.set_change_ratio)},
          {"ns_change_ratio", opt_json(f.ns_change_ratio)},
          {"soa_serial_changes", opt_json(f.soa_serial_changes)}};
}

int run_score(const config::Config& config, const WindowFlags& flags, bool json) {
  const auto window = make_window(flags, config);
  scoring::ScoreStore store(database_dsn(config), config.database.read_dsn);
  const auto started = std::chrono::steady_clock::now();
  const auto rows = store.compute_features(window);
  const auto computed = std::chrono::steady_clock::now();
  const auto& t = config.scoring.thresholds;
  const auto& model = config.scoring.holz;
  std::vector<scoring::Verdict> verdicts;
  verdicts.reserve(rows.size());
  std::map<std::string, std::size_t> per_label;
  for (const auto& row : rows) {
    verdicts.push_back(scoring::classify(row.features, t, model));
    ++per_label[std::string(scoring::label_name(verdicts.back().label))];
  }
  const auto run_id = store.save(window, config::section_json(config, "scoring"), rows, verdicts);
  const auto done = std::chrono::steady_clock::now();
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  spdlog::info("score run {}: features of {} domains in {} ms, classified and stored in {} ms",
               run_id, rows.size(), ms(computed - started), ms(done - computed));
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"score_run_id", run_id},
                                      {"domains", rows.size()},
                                      {"labels", per_label},
                                      {"seconds", ms(done - started) / 1000.0}}
                           .dump());
  } else {
    std::string labels;
    for (const auto& [label, count] : per_label) {
      labels += fmt::format("{}{} {}", labels.empty() ? "" : ", ", count, label);
    }
    fmt::print("score run {}: {} domain{} scored ({})\n", run_id, rows.size(), plural(rows.size()),
               labels.empty() ? "none" : labels);
  }
  return kExitOk;
}

/// Why `domain` has no score: not watched, removed, or watched and not scored yet.
void explain_missing_score(const config::Config& config, const std::string& domain, bool rescored) {
  storage::WatchlistStore watchlist(read_dsn_or_primary(config));
  if (!watchlist.find({domain}).empty()) {
    fmt::print(
        stderr,
        fmt::runtime(rescored ? "fluxwatch: {} is watched but has no probes in that window: "
                                "widen --since/--until or probe it (`fluxwatch probe --domain "
                                "{}`)\n"
                              : "fluxwatch: {} is watched but not scored yet: run `fluxwatch "
                                "score` (after `fluxwatch probe --domain {}` if it has no "
                                "probes)\n"),
        domain, domain);
  } else if (watchlist.was_removed(domain)) {
    fmt::print(stderr,
               "fluxwatch: {} was removed from the watchlist and has no score; import it again "
               "to watch it\n",
               domain);
  } else {
    fmt::print(stderr,
               "fluxwatch: {} is not on the watchlist: add it with `fluxwatch watchlist import` "
               "(or look it up once with `fluxwatch query {}`)\n",
               domain, domain);
  }
}

/// `domain` scored afresh over `window` (not stored): what `explain --since` shows.
std::optional<scoring::StoredScore> rescore(const config::Config& config,
                                            scoring::ScoreStore& store, const std::string& domain,
                                            const scoring::Window& window) {
  const auto now = std::chrono::system_clock::now();
  for (auto& row : store.compute_features(window)) {
    if (row.domain == domain) {
      scoring::StoredScore score;
      score.domain = row.domain;
      score.computed_at = now;
      score.window_start = window.since;
      score.window_end = window.until.value_or(now);
      score.verdict =
          scoring::classify(row.features, config.scoring.thresholds, config.scoring.holz);
      score.features = std::move(row.features);
      return score;
    }
  }
  return std::nullopt;
}

int run_explain(const config::Config& config, const std::string& domain_arg,
                const WindowFlags& flags, bool json) {
  // The same normalisation as `watchlist import`: case, trailing dot, Unicode, URL.
  const std::string domain = normalise_domain_arg(domain_arg, "explain");
  const auto window = make_window(flags, config);
  scoring::ScoreStore store(read_dsn_or_primary(config));
  const bool rescored = !flags.since.empty() || !flags.until.empty() || !flags.campaign.empty();
  const auto score = rescored ? rescore(config, store, domain, window) : store.latest_score(domain);
  if (!score) {
    explain_missing_score(config, domain, rescored);
    return kExitFailure;
  }
  // The addresses of the scored window, unless a window was given.
  scoring::Window address_window = window;
  if (!rescored) {
    address_window.since = score->window_start;
    address_window.until = score->window_end;
  }
  const auto addresses = store.addresses(domain, address_window);
  const auto& f = score->features;
  const auto& v = score->verdict;
  if (json) {
    auto list = nlohmann::json::array();
    for (const auto& a : addresses) {
      list.push_back({{"address", a.address},
                      {"asn", opt_json(a.asn)},
                      {"as_org", a.as_org},
                      {"country", a.country},
                      {"times_seen", a.times_seen},
                      {"first_seen", time_text(a.first_seen)},
                      {"last_seen", time_text(a.last_seen)}});
    }
    fmt::print("{}\n",
               nlohmann::json{{"domain", score->domain},
                              {"label", scoring::label_name(v.label)},
                              {"reasons", v.reasons},
                              {"holz_score", v.holz_score},
                              {"holz_flux", v.holz_flux},
                              {"score_run_id", rescored ? nlohmann::json(nullptr)
                                                        : nlohmann::json(score->score_run_id)},
                              {"rescored", rescored},
                              {"scored_at", time_text(score->computed_at)},
                              {"window_start", score->window_start
                                                   ? nlohmann::json(time_text(*score->window_start))
                                                   : nlohmann::json(nullptr)},
                              {"window_end", time_text(score->window_end)},
                              {"features", features_json(f)},
                              {"addresses", list}}
                   .dump(2));
    return kExitOk;
  }
  std::string out;
  out += fmt::format("{}: {} (Holz flux-score {:.2f})\n", score->domain,
                     scoring::label_name(v.label), v.holz_score);
  out += fmt::format("{} {} over [{}, {}){}\n", rescored ? "re-scored" : "scored",
                     time_text(score->computed_at),
                     score->window_start ? time_text(*score->window_start) : "first probe",
                     time_text(score->window_end),
                     rescored ? " (not stored; `fluxwatch score` stores a run)" : "");
  out += "reasons:\n";
  for (const auto& reason : v.reasons) {
    out += fmt::format("  - {}\n", reason);
  }
  out += "features:\n";
  const auto features = features_json(f);  // items() refers to it: keep it alive
  for (const auto& [key, value] : features.items()) {
    out += fmt::format("  {:<20} {}\n", key, value.is_null() ? "-" : value.dump());
  }
  out += fmt::format("addresses ({}):\n", addresses.size());
  out += fmt::format("  {:<40} {:>8}  {:<7}  {:>5}  {}\n", "address", "asn", "country", "seen",
                     "as_org");
  for (const auto& a : addresses) {
    out += fmt::format("  {:<40} {:>8}  {:<7}  {:>5}  {}\n", a.address, opt_text(a.asn),
                       a.country.empty() ? "-" : a.country, a.times_seen, a.as_org);
  }
  fmt::print("{}", out);
  return kExitOk;
}

}  // namespace

void add_score_commands(CLI::App& app, CommandTable& table) {
  auto score_flags = std::make_shared<WindowFlags>();
  auto score_format = std::make_shared<std::string>("table");
  auto* score_cmd = app.add_subcommand(
      "score",
      "Compute features, the Holz et al. flux-score and a label for every watched domain over a "
      "window, and store them (see `fluxwatch report --scores`, `fluxwatch explain`)");
  add_window_flags(score_cmd, *score_flags);
  score_cmd->add_option("--format", *score_format, "table or json (the summary line)")
      ->check(CLI::IsMember({"table", "json"}));
  table.add(score_cmd, [score_flags, score_format](const config::Config& config) {
    [[maybe_unused]] const auto db = open_database(config);  // applies pending migrations
    check_read_dsn(config);
    return run_score(config, *score_flags, *score_format == "json");
  });

  auto explain_flags = std::make_shared<WindowFlags>();
  auto explain_format = std::make_shared<std::string>("table");
  auto domain = std::make_shared<std::string>();
  auto* explain_cmd = app.add_subcommand(
      "explain",
      "One domain's newest score: label, reasons, features, and the addresses behind it with "
      "ASN and country. With --since/--until/--campaign the domain is scored afresh over that "
      "window (not stored)");
  explain_cmd
      ->add_option("domain", *domain,
                   "A watched domain, written as in a watchlist (any case, trailing dot, Unicode "
                   "or a URL)")
      ->required();
  add_window_flags(explain_cmd, *explain_flags);
  explain_cmd->add_option("--format", *explain_format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  table.add(explain_cmd, [explain_flags, explain_format, domain](const config::Config& config) {
    (void)prepare_reads(config);  // database.read_dsn when set; the primary is not needed
    return run_explain(config, *domain, *explain_flags, *explain_format == "json");
  });
}

}  // namespace fluxwatch::cli
