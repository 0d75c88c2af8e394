#include "fluxwatch/report/report.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace fluxwatch::report {
namespace {

// The columns, in order, shared by the table and the CSV header.
constexpr std::array<std::string_view, 10> kColumns{
    "domain", "probes", "ipv4", "ipv6", "asns", "countries", "ns_names", "min_ttl",
    "last_outcome", "last_probe"};

std::string time_text(const std::optional<std::chrono::system_clock::time_point>& when) {
  if (!when) {
    return "";
  }
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(*when);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", seconds);
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

std::string render_table(const std::vector<storage::DomainSummary>& rows) {
  if (rows.empty()) {
    return "no domains on the watchlist (add some with: fluxwatch watchlist import FILE)\n";
  }
  std::vector<std::vector<std::string>> table;
  table.emplace_back(kColumns.begin(), kColumns.end());
  for (const auto& row : rows) {
    table.push_back(cells(row));
  }
  std::vector<std::size_t> widths(kColumns.size(), 0);
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      widths[i] = std::max(widths[i], line[i].size());
    }
  }
  std::string out;
  for (const auto& line : table) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      const bool numeric = i >= 1 && i <= 7;  // right-align the counts
      out += numeric ? fmt::format("{:>{}}", line[i], widths[i])
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

std::string render_csv(const std::vector<storage::DomainSummary>& rows) {
  std::string out;
  for (std::size_t i = 0; i < kColumns.size(); ++i) {
    out += std::string(kColumns[i]) + (i + 1 < kColumns.size() ? "," : "\n");
  }
  for (const auto& row : rows) {
    const auto line = cells(row);
    for (std::size_t i = 0; i < line.size(); ++i) {
      out += csv_field(line[i]) + (i + 1 < line.size() ? "," : "\n");
    }
  }
  return out;
}

std::string render_json(const std::vector<storage::DomainSummary>& rows) {
  auto array = nlohmann::json::array();
  for (const auto& row : rows) {
    array.push_back({
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
    });
  }
  return array.dump(2) + "\n";
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
  switch (format) {
    case Format::Csv:
      return render_csv(rows);
    case Format::Json:
      return render_json(rows);
    case Format::Table:
      break;
  }
  return render_table(rows);
}

}  // namespace fluxwatch::report
