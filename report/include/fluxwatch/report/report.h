#pragma once
/// Rendering per-domain summaries for people (an aligned table) and for scripts (CSV with
/// a fixed header, JSON array). The CSV and JSON fields are a stable interface.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/storage/database.h"

namespace fluxwatch::report {

enum class Format { Table, Csv, Json };

/// "table", "csv", "json" -> Format; nullopt otherwise.
[[nodiscard]] std::optional<Format> parse_format(std::string_view text);

/// The summaries in `format`, ending with a newline (an empty table says so).
[[nodiscard]] std::string render(const std::vector<storage::DomainSummary>& rows, Format format);

/// The newest score of a domain (`fluxwatch score`), shown by `fluxwatch report --scores`.
struct ScoreCells {
  std::string label;  ///< fast_flux, double_flux, cdn_like, round_robin, stable, insufficient_data
  double holz_score = 0;                              ///< Holz et al. flux-score (> 0: flux)
  std::chrono::system_clock::time_point scored_at{};  ///< when the score was computed
  std::vector<std::string> reasons;                   ///< why the label (JSON only)
  /// The window the score was computed over; window_start empty: from the first probe.
  std::optional<std::chrono::system_clock::time_point> window_start{};
  std::optional<std::chrono::system_clock::time_point> window_end{};
  bool operator==(const ScoreCells&) const = default;
};

/// A summary row with its score; `score` is empty for a domain that was never scored.
struct ScoredRow {
  storage::DomainSummary summary;
  std::optional<ScoreCells> score;
  bool operator==(const ScoredRow&) const = default;
};

/// The orders of `fluxwatch report --sort` (applied to the rows in memory).
enum class ReportOrder { Domain, Label, Score, Addresses, Asns, Probes };

/// "domain", "label", "score", "addresses", "asns", "probes" -> ReportOrder; nullopt otherwise.
[[nodiscard]] std::optional<ReportOrder> parse_report_order(std::string_view text);

/**
 * The rows whose label is one of `labels` (every row if empty; "unscored" selects rows
 * without a score), sorted by `key` (ties by domain, ascending). Unscored rows sort after
 * scored ones for the score-based keys.
 */
[[nodiscard]] std::vector<ScoredRow> select_rows(std::vector<ScoredRow> rows,
                                                 const std::vector<std::string>& labels,
                                                 ReportOrder key, bool descending);

/// Like render(), with the columns label, holz_score, scored_at, window_start, window_end
/// appended (label "unscored" and the rest empty when a domain has no score; window_start
/// "first_probe" for a window from the first probe); JSON adds those keys (null when not
/// known) and "reasons", holz_score rounded to 2 decimals as in CSV. The table ends with a
/// note saying which columns cover all history and which the score's window.
[[nodiscard]] std::string render_scored(const std::vector<ScoredRow>& rows, Format format);

/// CSV field quoting per RFC 4180 (exposed for tests and other CSV writers).
[[nodiscard]] std::string csv_field(std::string_view text);

}  // namespace fluxwatch::report
