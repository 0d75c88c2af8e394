// `fluxwatch report`: the per-domain summary, optionally with each domain's newest score
// (`fluxwatch score`), filtered by label and sorted.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <set>

#include "context.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/report/report.h"
#include "fluxwatch/scoring/score_store.h"
#include "fluxwatch/scoring/time_arg.h"
#include "fluxwatch/storage/report_store.h"
#include "fluxwatch/storage/watchlist_store.h"
#include "names.h"
#include "read_access.h"

namespace fluxwatch::cli {
namespace {

struct ReportFlags {
  std::string format = "table";
  bool scores = false;
  std::vector<std::string> labels;
  std::string sort = "domain";
  bool descending = false;
  std::string since;
  SelectionFlags selection;
};

/// --since as a time point (same forms as `score --since`).
std::optional<std::chrono::system_clock::time_point> since_of(const ReportFlags& flags) {
  if (flags.since.empty()) {
    return std::nullopt;
  }
  auto when = scoring::parse_time_arg(flags.since, std::chrono::system_clock::now());
  if (!when) {
    throw ConfigError(
        fmt::format("--since '{}': expected a time like 2026-11-22T18:00:00Z or "
                    "2026-11-22, or a duration like 24h or 7d",
                    flags.since));
  }
  return when;
}

int run_report(const config::Config& config, const ReportFlags& flags) {
  const auto since = since_of(flags);
  const auto filter = selection_filter(flags.selection);
  // database.read_dsn when set (read_access.h): every read below goes there.
  const std::string dsn = prepare_reads(config);
  auto summaries = storage::ReportStore(dsn).summaries();
  if (!filter.empty()) {  // --domain/--tag/--source: the watched domains they select
    std::set<std::string, std::less<>> selected;
    for (auto& row : storage::WatchlistStore(dsn).rows(filter)) {
      selected.insert(std::move(row.domain));
    }
    std::erase_if(summaries, [&](const auto& s) { return !selected.contains(s.domain); });
  }
  if (since) {  // --since: domains probed since then
    std::erase_if(summaries,
                  [&](const auto& s) { return !s.last_probe || *s.last_probe < *since; });
  }
  const bool scores =
      flags.scores || !flags.labels.empty() || flags.sort == "label" || flags.sort == "score";
  std::vector<report::ScoredRow> rows;
  rows.reserve(summaries.size());
  std::map<std::string, report::ScoreCells, std::less<>> by_domain;
  if (scores) {
    scoring::ScoreStore store(dsn);
    for (auto& stored : store.latest_scores()) {
      by_domain.emplace(stored.domain,
                        report::ScoreCells{std::string(scoring::label_name(stored.verdict.label)),
                                           stored.verdict.holz_score, stored.computed_at,
                                           std::move(stored.verdict.reasons), stored.window_start,
                                           stored.window_end});
    }
  }
  for (const auto& summary : summaries) {
    std::optional<report::ScoreCells> score;
    if (const auto found = by_domain.find(summary.domain); found != by_domain.end()) {
      score = found->second;
    }
    rows.push_back({summary, std::move(score)});
  }
  rows = report::select_rows(std::move(rows), flags.labels, *report::parse_report_order(flags.sort),
                             flags.descending);
  const auto format = *report::parse_format(flags.format);
  if (scores) {
    fmt::print("{}", report::render_scored(rows, format));
  } else {
    std::vector<storage::DomainSummary> plain;
    plain.reserve(rows.size());
    for (auto& row : rows) {
      plain.push_back(std::move(row.summary));
    }
    fmt::print("{}", report::render(plain, format));
  }
  return kExitOk;
}

}  // namespace

void add_report_commands(CLI::App& app, CommandTable& table) {
  auto flags = std::make_shared<ReportFlags>();
  auto* report_cmd = app.add_subcommand(
      "report",
      "Per-domain summary: probes, distinct addresses, ASNs, countries, NS names, min TTL, "
      "last outcome (over all history); with --scores also the newest label and Holz "
      "flux-score, and the window that score covers");
  report_cmd
      ->add_option("--format", flags->format, "table, csv or json (csv/json: stable for scripts)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  report_cmd->add_flag("--scores", flags->scores,
                       "Append label, holz_score and scored_at (from `fluxwatch score`); JSON "
                       "also gets the reasons");
  report_cmd
      ->add_option("--label", flags->labels,
                   "Only domains with this label (repeatable; implies --scores): fast_flux, "
                   "double_flux, cdn_like, round_robin, stable, insufficient_data, unscored")
      ->check(CLI::IsMember({"fast_flux", "double_flux", "cdn_like", "round_robin", "stable",
                             "insufficient_data", "unscored"}))
      ->delimiter(',');
  report_cmd
      ->add_option("--sort", flags->sort,
                   "domain, label, score, addresses, asns or probes (label/score imply --scores)")
      ->check(CLI::IsMember({"domain", "label", "score", "addresses", "asns", "probes"}));
  report_cmd->add_flag("--desc", flags->descending, "Sort in descending order");
  report_cmd->add_option("--since", flags->since,
                         "Only domains probed since then: 2026-11-22T18:00:00Z, 2026-11-22 or a "
                         "duration back from now (30m, 24h, 7d)");
  add_selection_flags(report_cmd, flags->selection, "report");
  table.add(report_cmd,
            [flags](const config::Config& config) { return run_report(config, *flags); });
}

}  // namespace fluxwatch::cli
