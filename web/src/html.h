#pragma once
// Small helpers shared by the page renderers (pages.cc, domain_page.cc): the page frame,
// escaped cells and links. Nothing here writes a value without escape.h.

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "fluxwatch/web/charts.h"
#include "fluxwatch/web/escape.h"
#include "fluxwatch/web/pages.h"

namespace fluxwatch::web::html {

/// The value of query parameter `name`, "" when absent.
inline std::string param(const Params& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

/// JSON text of DNS data: an invalid UTF-8 sequence becomes U+FFFD instead of an exception.
inline std::string json_text(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// The whole document: head, navigation, `body` (already HTML), the scripts.
std::string page(std::string_view title, std::string_view body, bool with_charts);

/// <a href="/domain/NAME">NAME</a>
std::string domain_link(std::string_view domain);
/// <a href="/address/ADDR">ADDR</a>
std::string address_link(std::string_view address);
/// A <td> with escaped text.
inline std::string cell(std::string_view text) { return "<td>" + html_text(text) + "</td>"; }
/// A right-aligned numeric cell; "-" when unset.
template <typename T>
std::string number_cell(const std::optional<T>& value, const char* spec = "{}") {
  return "<td class=\"num\">" +
         (value ? html_text(fmt::format(fmt::runtime(spec), *value)) : std::string("-")) + "</td>";
}
inline std::string time_cell(TimePoint when) { return cell(iso_time(when)); }
/// A label as a coloured badge (class from a fixed list).
std::string label_badge(std::string_view label);
/// A <figure> holding a chart canvas, drawn from the chart spec `id` of the page's data.
std::string chart_figure(std::string_view id, std::string_view caption);
/// <script type="application/json" id="chart-data">...</script>
std::string chart_data(std::string_view json);

}  // namespace fluxwatch::web::html
