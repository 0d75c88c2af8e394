#pragma once
/// The pages of `fluxwatch serve`, rendered on the server from plain values (model.h). Every
/// value from the database goes through escape.h; chart data is JSON inside
/// <script type="application/json">, drawn by /static/fluxwatch.js (no inline script, so the
/// Content-Security-Policy can forbid them).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/web/model.h"

namespace fluxwatch::web {

/// A request's query parameters (name -> value; the first value of a repeated name).
using Params = std::map<std::string, std::string>;

/// The domains table's filter, order and page from the query string. Unknown sort columns
/// and bad numbers fall back to the defaults; `campaigns` resolves ?campaign=NAME.
[[nodiscard]] DomainQuery domain_query_from(const Params& params,
                                            const std::vector<CampaignRow>& campaigns);
/// The query string that reproduces `query` (without offset when `with_offset` is false),
/// each value URL-encoded; "" when nothing is set.
[[nodiscard]] std::string domain_query_string(const DomainQuery& query, bool with_offset = true);

/// ?since=&until= of the domain page and `plot` ("7d", "2026-11-22", ...). nullopt when a
/// value is not a time; `error` then says which.
[[nodiscard]] std::optional<TimeWindow> time_window_from(const Params& params, TimePoint now,
                                                         std::string& error);

[[nodiscard]] std::string render_overview(const Overview& overview);
[[nodiscard]] std::string render_domains(const DomainPage& page, const DomainQuery& query,
                                         const std::vector<CampaignRow>& campaigns);
/// `params` are the page's own ?since/?until (shown in the window selector).
[[nodiscard]] std::string render_domain(const DomainHistory& history, const Params& params);
[[nodiscard]] std::string render_address(const AddressHistory& history);
/// A page for 400/404/500 answers.
[[nodiscard]] std::string render_error(int status, const std::string& message);

/// The same selection as the domains table, for scripts.
[[nodiscard]] std::string domains_csv(const DomainPage& page);
[[nodiscard]] std::string domains_json(const DomainPage& page);

}  // namespace fluxwatch::web
