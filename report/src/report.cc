#include "fluxwatch/report/report.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <tuple>

#include "fluxwatch/common/utc_time.h"

namespace fluxwatch::report {
namespace {

// The columns, in order, shared by the table and the CSV header.
constexpr std::array<std::string_view, 10> kColumns{
    "domain",    "probes",   "ipv4",    "ipv6",         "asns",
    "countries", "ns_names", "min_ttl", "last_outcome", "last_probe"};
// Appended by render_scored(), after kColumns (the CSV only ever grows at its end).
// window_start/window_end: the probes the score was computed over (the count columns before
// them cover all history).
constexpr std::array<std::string_view, 5> kScoreColumns{"label", "holz_score", "scored_at",
                                                        "window_start", "window_end"};
/// The label of a domain that has no score yet (also a --label filter value).
constexpr std::string_view kUnscored = "unscored";

/// Two decimals, as in CSV: -121.19999999999999 is -121.2 in JSON too.
double rounded(double value) { return std::round(value * 100.0) / 100.0; }

std::string time_text(const std::optional<std::chrono::system_clock::time_point>& when) {
  if (!when) {
    return "";
  }
  return format_iso8601_utc(*when);
}

std::vector<std::string> cells(const storage::DomainSummary& row) {
  return {row.domain,
          std::to_string(row.probes),
          std::to_string(row.ipv4_addresses),
          std::to_string(row.ipv6_addresses),
          std::to_string(row.asns),
          std::to_string(row.countries),
          std::to_string(row.ns_names),
          row.min_ttl ? std::to_string(*row.min_ttl) : "",
          row.last_outcome,
          time_text(row.last_probe)};
}

std::vector<std::string> score_cells(const std::optional<ScoreCells>& score) {
  if (!score) {
    return {std::string(kUnscored), "", "", "", ""};
  }
  return {score->label, fmt::format("{:.2f}", score->holz_score), time_text(score->scored_at),
          score->window_start ? time_text(score->window_start) : "first_probe",
          time_text(score->window_end)};
}

/// Header and cells of every row, with or without the score columns.
struct Grid {
  std::vector<std::string_view> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> numeric;  ///< right-aligned columns
};

Grid make_grid(const std::vector<ScoredRow>& rows, bool scores) {
  Grid grid;
  grid.header.assign(kColumns.begin(), kColumns.end());
  for (std::size_t i = 0; i < kColumns.size(); ++i) {
    grid.numeric.push_back(i >= 1 && i <= 7);  // the counts
  }
  if (scores) {
    grid.header.insert(grid.header.end(), kScoreColumns.begin(), kScoreColumns.end());
    grid.numeric.insert(grid.numeric.end(), {false, true, false, false, false});
  }
  for (const auto& row : rows) {
    auto line = cells(row.summary);
    if (scores) {
      auto extra = score_cells(row.score);
      line.insert(line.end(), extra.begin(), extra.end());
    }
    grid.rows.push_back(std::move(line));
  }
  return grid;
}

std::string render_table(const Grid& grid) {
  if (grid.rows.empty()) {
    return "no domains on the watchlist (add some with: fluxwatch watchlist import FILE)\n";
  }
  std::vector<std::vector<std::string>> table;
  table.emplace_back(grid.header.begin(), grid.header.end());
  table.insert(table.end(), grid.rows.begin(), grid.rows.end());
  std::vector<std::size_t> widths(grid.header.size(), 0);
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      widths[i] = std::max(widths[i], line[i].size());
    }
  }
  std::string out;
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      out += grid.numeric[i] ? fmt::format("{:>{}}", line[i], widths[i])
                             : fmt::format("{:<{}}", line[i], widths[i]);
      out += i + 1 < line.size() ? "  " : "";
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    out += '\n';
  }
  return out;
}

std::string render_csv(const Grid& grid) {
  std::string out;
  for (std::size_t i = 0; i < grid.header.size(); ++i) {
    out += std::string(grid.header[i]) + (i + 1 < grid.header.size() ? "," : "\n");
  }
  for (const auto& line : grid.rows) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      out += csv_field(line[i]) + (i + 1 < line.size() ? "," : "\n");
    }
  }
  return out;
}

nlohmann::json summary_json(const storage::DomainSummary& row) {
  return {
      {"domain", row.domain},
      {"probes", row.probes},
      {"ipv4", row.ipv4_addresses},
      {"ipv6", row.ipv6_addresses},
      {"asns", row.asns},
      {"countries", row.countries},
      {"ns_names", row.ns_names},
      {"min_ttl", row.min_ttl ? nlohmann::json(*row.min_ttl) : nlohmann::json(nullptr)},
      {"last_outcome",
       row.last_outcome.empty() ? nlohmann::json(nullptr) : nlohmann::json(row.last_outcome)},
      {"last_probe",
       row.last_probe ? nlohmann::json(time_text(row.last_probe)) : nlohmann::json(nullptr)},
  };
}

std::string render_json(const std::vector<ScoredRow>& rows, bool scores) {
  auto array = nlohmann::json::array();
  for (const auto& row : rows) {
    auto object = summary_json(row.summary);
    if (scores) {
      const auto& score = row.score;
      object["label"] = score ? nlohmann::json(score->label) : nlohmann::json(kUnscored);
      object["holz_score"] =
          score ? nlohmann::json(rounded(score->holz_score)) : nlohmann::json(nullptr);
      object["scored_at"] =
          score ? nlohmann::json(time_text(score->scored_at)) : nlohmann::json(nullptr);
      // null window_start: from the first probe.
      object["window_start"] = score && score->window_start
                                   ? nlohmann::json(time_text(score->window_start))
                                   : nlohmann::json(nullptr);
      object["window_end"] = score && score->window_end
                                 ? nlohmann::json(time_text(score->window_end))
                                 : nlohmann::json(nullptr);
      object["reasons"] = score ? nlohmann::json(score->reasons) : nlohmann::json::array();
    }
    array.push_back(std::move(object));
  }
  return array.dump(2) + "\n";
}

std::string render_rows(const std::vector<ScoredRow>& rows, Format format, bool scores) {
  switch (format) {
    case Format::Csv:
      return render_csv(make_grid(rows, scores));
    case Format::Json:
      return render_json(rows, scores);
    case Format::Table:
      break;
  }
  if (scores && !rows.empty()) {
    return render_table(make_grid(rows, scores)) +
           "note: probes .. last_probe cover all history; label and holz_score cover each "
           "score's window [window_start, window_end) (fluxwatch score --since)\n";
  }
  return render_table(make_grid(rows, scores));
}

}  // namespace

std::optional<Format> parse_format(std::string_view text) {
  if (text == "table") {
    return Format::Table;
  }
  if (text == "csv") {
    return Format::Csv;
  }
  if (text == "json") {
    return Format::Json;
  }
  return std::nullopt;
}

std::optional<ReportOrder> parse_report_order(std::string_view text) {
  constexpr std::array<std::pair<std::string_view, ReportOrder>, 6> kKeys{{
      {"domain", ReportOrder::Domain},
      {"label", ReportOrder::Label},
      {"score", ReportOrder::Score},
      {"addresses", ReportOrder::Addresses},
      {"asns", ReportOrder::Asns},
      {"probes", ReportOrder::Probes},
  }};
  for (const auto& [name, key] : kKeys) {
    if (name == text) {
      return key;
    }
  }
  return std::nullopt;
}

std::vector<ScoredRow> select_rows(std::vector<ScoredRow> rows,
                                   const std::vector<std::string>& labels, ReportOrder key,
                                   bool descending) {
  if (!labels.empty()) {
    std::erase_if(rows, [&](const ScoredRow& row) {
      const std::string label = row.score ? row.score->label : "unscored";
      return std::ranges::find(labels, label) == labels.end();
    });
  }
  // Compares a < b by the key only (nullopt for "equal"); ties fall back to the domain.
  const auto compare = [&](const ScoredRow& a, const ScoredRow& b) -> std::optional<bool> {
    const auto& x = a.summary;
    const auto& y = b.summary;
    switch (key) {
      case ReportOrder::Label:
      case ReportOrder::Score: {
        if (a.score.has_value() != b.score.has_value()) {
          return std::nullopt;  // handled below: unscored rows go last
        }
        if (!a.score) {
          return std::nullopt;
        }
        if (key == ReportOrder::Label) {
          if (a.score->label == b.score->label) {
            return std::nullopt;
          }
          return a.score->label < b.score->label;
        }
        if (a.score->holz_score == b.score->holz_score) {
          return std::nullopt;
        }
        return a.score->holz_score < b.score->holz_score;
      }
      case ReportOrder::Addresses: {
        const auto m = x.ipv4_addresses + x.ipv6_addresses;
        const auto n = y.ipv4_addresses + y.ipv6_addresses;
        return m == n ? std::nullopt : std::optional<bool>(m < n);
      }
      case ReportOrder::Asns:
        return x.asns == y.asns ? std::nullopt : std::optional<bool>(x.asns < y.asns);
      case ReportOrder::Probes:
        return x.probes == y.probes ? std::nullopt : std::optional<bool>(x.probes < y.probes);
      case ReportOrder::Domain:
        break;
    }
    return std::nullopt;
  };
  const bool score_key = key == ReportOrder::Label || key == ReportOrder::Score;
  std::ranges::stable_sort(rows, [&](const ScoredRow& a, const ScoredRow& b) {
    if (score_key && a.score.has_value() != b.score.has_value()) {
      return a.score.has_value();  // scored first, in either direction
    }
    if (key != ReportOrder::Domain) {
      if (const auto less = compare(a, b)) {
        return descending ? !*less : *less;
      }
      return a.summary.domain < b.summary.domain;
    }
    return descending ? b.summary.domain < a.summary.domain : a.summary.domain < b.summary.domain;
  });
  return rows;
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(text);
  }
  std::string out = "\"";
  for (char c : text) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string render(const std::vector<storage::DomainSummary>& rows, Format format) {
  std::vector<ScoredRow> plain;
  plain.reserve(rows.size());
  for (const auto& row : rows) {
    plain.push_back({row, std::nullopt});
  }
  return render_rows(plain, format, false);
}

std::string render_scored(const std::vector<ScoredRow>& rows, Format format) {
  return render_rows(rows, format, true);
}

}  // namespace fluxwatch::report
