#pragma once
/// Rendering per-domain summaries for people (an aligned table) and for scripts (CSV with
/// a fixed header, JSON array). The CSV and JSON fields are a stable interface.

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

/// CSV field quoting per RFC 4180 (exposed for tests and other CSV writers).
[[nodiscard]] std::string csv_field(std::string_view text);

}  // namespace fluxwatch::report
