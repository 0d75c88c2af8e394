// The overview, domains table, address page and error page; the frame they share (html.h).
// The domain page is in domain_page.cc.
#include "fluxwatch/web/pages.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "html.h"

namespace fluxwatch::web {
namespace html {

std::string page(std::string_view title, std::string_view body, bool with_charts) {
  std::string out;
  out.reserve(body.size() + 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<title>" + html_text(title) + " - fluxwatch</title>";
  out += "<link rel=\"stylesheet\" href=\"/static/fluxwatch.css\"></head><body>";
  out += "<header><nav><a class=\"brand\" href=\"/\">fluxwatch</a> <a href=\"/\">overview</a> ";
  out += "<a href=\"/domains\">domains</a></nav></header><main>";
  out += body;
  out += "</main>";
  if (with_charts) {
    out += "<script src=\"/static/chart.min.js\"></script>";
    out += "<script src=\"/static/fluxwatch.js\"></script>";
  }
  out += "</body></html>\n";
  return out;
}

std::string domain_link(std::string_view domain) {
  return "<a href=\"/domain/" + html_attr(url_component(domain)) + "\">" + html_text(domain) +
         "</a>";
}

std::string address_link(std::string_view address) {
  return "<a href=\"/address/" + html_attr(url_component(address)) + "\">" + html_text(address) +
         "</a>";
}

std::string label_badge(std::string_view label) {
  static constexpr std::string_view kKnown[] = {"fast_flux",   "double_flux", "cdn_like",
                                                "round_robin", "stable",      "insufficient_data"};
  const bool known = std::ranges::find(kKnown, label) != std::end(kKnown);
  if (label.empty()) {
    return "<span class=\"badge\">not scored</span>";
  }
  return "<span class=\"badge " + std::string(known ? label : "other") + "\">" + html_text(label) +
         "</span>";
}

std::string chart_figure(std::string_view id, std::string_view caption) {
  return "<figure class=\"chart\" id=\"fig-" + html_attr(id) + "\"><div class=\"canvas-box\">" +
         "<canvas data-chart=\"" + html_attr(id) + "\"></canvas></div><figcaption>" +
         html_text(caption) + "</figcaption></figure>";
}

std::string chart_data(std::string_view json) {
  return "<script type=\"application/json\" id=\"chart-data\">" + json_for_script(json) +
         "</script>";
}

}  // namespace html

namespace {

constexpr std::pair<std::string_view, SortColumn> kSortColumns[] = {
    {"domain", SortColumn::Domain},       {"source", SortColumn::Source},
    {"label", SortColumn::Label},         {"holz_score", SortColumn::HolzScore},
    {"addresses", SortColumn::Addresses}, {"asns", SortColumn::Asns},
    {"countries", SortColumn::Countries}, {"min_ttl", SortColumn::MinTtl},
    {"scored_at", SortColumn::ScoredAt}};

std::string_view sort_name(SortColumn column) {
  for (const auto& [name, value] : kSortColumns) {
    if (value == column) {
      return name;
    }
  }
  return "domain";
}

using html::param;

std::int64_t number_param(const Params& params, const std::string& name, std::int64_t fallback,
                          std::int64_t low, std::int64_t high) {
  const auto text = param(params, name);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return fallback;
  }
  return std::clamp(value, low, high);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    out += (out.empty() ? "" : std::string(separator)) + item;
  }
  return out;
}

std::string escaped_join(const std::vector<std::string>& items) {
  return html_text(join(items, ", "));
}

/// A waiting time rounded for reading, as `status` prints it: 45s, 12m, 2.5h.
std::string wait_text(double seconds) {
  if (seconds < 120) {
    return fmt::format("{:.0f}s", seconds);
  }
  if (seconds < 7200) {
    return fmt::format("{:.0f}m", seconds / 60);
  }
  return fmt::format("{:.1f}h", seconds / 3600);
}

std::string duration_text(std::chrono::seconds seconds) {
  const auto s = seconds.count();
  if (s % 86400 == 0 && s > 0) {
    return fmt::format("{}d", s / 86400);
  }
  if (s % 3600 == 0 && s > 0) {
    return fmt::format("{}h", s / 3600);
  }
  if (s % 60 == 0 && s > 0) {
    return fmt::format("{}m", s / 60);
  }
  return fmt::format("{}s", s);
}

}  // namespace

DomainQuery domain_query_from(const Params& params, const std::vector<CampaignRow>& campaigns) {
  DomainQuery query;
  query.label = param(params, "label");
  query.tag = param(params, "tag");
  query.source = param(params, "source");
  query.name = param(params, "name");
  query.campaign_name = param(params, "campaign");
  if (!query.campaign_name.empty()) {
    const auto it = std::ranges::find(campaigns, query.campaign_name, &CampaignRow::name);
    // An unknown campaign selects nothing rather than everything.
    query.campaign = it == campaigns.end()
                         ? std::make_pair(std::vector<std::string>{}, std::vector<std::string>{})
                         : std::make_pair(it->tags, it->sources);
  }
  const auto sort = param(params, "sort");
  for (const auto& [name, column] : kSortColumns) {
    if (sort == name) {
      query.sort = column;
    }
  }
  query.descending = param(params, "order") == "desc";
  query.limit = number_param(params, "limit", 100, 1, 1000);
  query.offset = number_param(params, "offset", 0, 0, std::int64_t{1} << 40);
  return query;
}

std::string domain_query_string(const DomainQuery& query, bool with_offset) {
  std::string out;
  const auto add = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) {
      out += (out.empty() ? "?" : "&") + std::string(name) + "=" + url_component(value);
    }
  };
  add("label", query.label);
  add("tag", query.tag);
  add("source", query.source);
  add("name", query.name);
  add("campaign", query.campaign_name);
  if (query.sort != SortColumn::Domain) {
    add("sort", std::string(sort_name(query.sort)));
  }
  if (query.descending) {
    add("order", "desc");
  }
  if (query.limit != 100) {
    add("limit", std::to_string(query.limit));
  }
  if (with_offset && query.offset > 0) {
    add("offset", std::to_string(query.offset));
  }
  return out;
}

std::string render_overview(const Overview& overview) {
  std::string body = "<h1>Overview</h1>";
  body += fmt::format("<p>{} watched domain{}.</p>", overview.watched,
                      overview.watched == 1 ? "" : "s");
  body += "<section><h2>Domains per label</h2><table><tr><th>label</th><th>domains</th></tr>";
  for (const auto& [label, count] : overview.labels) {
    body += "<tr><td><a href=\"/domains?label=" + html_attr(url_component(label)) + "\">" +
            html::label_badge(label) + "</a></td><td class=\"num\">" + std::to_string(count) +
            "</td></tr>";
  }
  body += "</table></section>";

  body += "<section><h2>Newest flux detections</h2>";
  if (overview.detections.empty()) {
    body += "<p>No domain has been labelled fast flux yet (run <code>fluxwatch score</code>).</p>";
  } else {
    body += "<table><tr><th>domain</th><th>first label</th><th>first flagged</th></tr>";
    for (const auto& d : overview.detections) {
      body += "<tr><td>" + html::domain_link(d.domain) + "</td><td>" + html::label_badge(d.label) +
              "</td>" + html::time_cell(d.first_flagged) + "</tr>";
    }
    body += "</table>";
  }
  body += "</section>";

  body += "<section><h2>Campaigns</h2>";
  if (overview.campaigns.empty()) {
    body += "<p>No campaign in the configuration (<code>fluxwatch probe</code> rounds only).</p>";
  } else {
    // The schedule's columns are `fluxwatch status`'s (same query): backlog = due and
    // leased by no worker.
    body +=
        "<table id=\"campaigns\"><tr><th>campaign</th><th>tags</th><th>sources</th>"
        "<th>interval</th><th>domains</th><th>scheduled</th><th>due now</th><th>backlog</th>"
        "<th>oldest overdue</th><th>last round</th></tr>";
    for (const auto& c : overview.campaigns) {
      body += "<tr><td><a href=\"/domains?campaign=" + html_attr(url_component(c.name)) + "\">" +
              html_text(c.name) + "</a></td><td>" + escaped_join(c.tags) + "</td><td>" +
              escaped_join(c.sources) + "</td>" + html::cell(duration_text(c.base_interval)) +
              "<td class=\"num\">" + std::to_string(c.domains) + "</td>";
      if (!c.scheduled) {
        body += "<td colspan=\"5\">not scheduled yet (no <code>fluxwatch run</code>)</td></tr>";
        continue;
      }
      const auto overdue = c.oldest_overdue_seconds
                               ? std::optional<std::string>(wait_text(*c.oldest_overdue_seconds))
                               : std::nullopt;
      body += html::number_cell(c.scheduled) + html::number_cell(std::optional(c.due_now)) +
              "<td class=\"num" + (c.backlog > 0 ? " warning" : "") + "\">" +
              std::to_string(c.backlog) + "</td>" + html::cell(overdue.value_or("-")) +
              (c.last_probe ? html::time_cell(*c.last_probe) : html::cell("never")) + "</tr>";
    }
    body += "</table>";
  }
  body += "</section>";

  // Probing rate and outcome mix per run, oldest first on the charts.
  nlohmann::json rate = nlohmann::json::array();
  nlohmann::json answered = nlohmann::json::array();
  nlohmann::json failed = nlohmann::json::array();
  for (auto it = overview.runs.rbegin(); it != overview.runs.rend(); ++it) {
    if (!it->finished_at || !it->probes) {
      continue;
    }
    const auto x = epoch_ms(it->started_at);
    const double seconds =
        std::max(0.001, std::chrono::duration<double>(*it->finished_at - it->started_at).count());
    rate.push_back({x, static_cast<double>(*it->probes) / seconds});
    answered.push_back({x, *it->probes - it->errors.value_or(0)});
    failed.push_back({x, it->errors.value_or(0)});
  }
  const nlohmann::json charts{
      {"charts",
       {{{"id", "run-rate"},
         {"kind", "time"},
         {"y", "probes per second"},
         {"series", {{{"label", "probes/s"}, {"colour", "#1f77b4"}, {"points", rate}}}}},
        {{"id", "run-outcomes"},
         {"kind", "time-bar"},
         {"y", "probes"},
         {"series",
          {{{"label", "answered"}, {"colour", "#2ca02c"}, {"points", answered}},
           {{"label", "timeout / error"}, {"colour", "#d62728"}, {"points", failed}}}}}}}};
  body += "<section><h2>Probing</h2><div class=\"charts\">";
  body += html::chart_figure("run-rate", "Probing rate of each finished run");
  body += html::chart_figure("run-outcomes", "Answered and failed probes per run");
  body +=
      "</div><table><tr><th>run</th><th>kind</th><th>started</th><th>finished</th>"
      "<th>probes</th><th>records</th><th>errors</th></tr>";
  for (const auto& run : overview.runs) {
    body += "<tr><td class=\"num\">" + std::to_string(run.run_id) + "</td>" + html::cell(run.kind) +
            html::time_cell(run.started_at) +
            (run.finished_at ? html::time_cell(*run.finished_at) : html::cell("running")) +
            html::number_cell(run.probes) + html::number_cell(run.records) +
            html::number_cell(run.errors) + "</tr>";
  }
  body += "</table></section>";
  body += html::chart_data(charts.dump());
  return html::page("overview", body, true);
}

std::string render_domains(const DomainPage& page, const DomainQuery& query,
                           const std::vector<CampaignRow>& campaigns) {
  std::string body = "<h1>Domains</h1>";
  // The filter form (GET: the selection is a plain link).
  body += "<form class=\"filter\" method=\"get\" action=\"/domains\">";
  const auto input = [&](const char* name, const std::string& value) {
    body += fmt::format("<label>{} <input name=\"{}\" value=\"{}\"></label> ", name, name,
                        html_attr(value));
  };
  body += "<label>label <select name=\"label\"><option value=\"\">any</option>";
  for (const char* label :
       {"fast_flux", "double_flux", "cdn_like", "round_robin", "stable", "insufficient_data"}) {
    body += fmt::format("<option{}>{}</option>", query.label == label ? " selected" : "", label);
  }
  body += "</select></label> ";
  input("tag", query.tag);
  input("source", query.source);
  input("name", query.name);
  body += "<label>campaign <select name=\"campaign\"><option value=\"\">any</option>";
  for (const auto& c : campaigns) {
    body += "<option value=\"" + html_attr(c.name) + "\"" +
            (c.name == query.campaign_name ? " selected" : "") + ">" + html_text(c.name) +
            "</option>";
  }
  body += "</select></label> <button type=\"submit\">filter</button></form>";

  const auto selection = domain_query_string(query, false);
  body +=
      fmt::format("<p>{} domain{} selected. Download: ", page.total, page.total == 1 ? "" : "s");
  body += "<a href=\"/domains.csv" + html_attr(selection) + "\">CSV</a> <a href=\"/domains.json" +
          html_attr(selection) + "\">JSON</a></p>";

  // Headers sort by their column; a second click reverses.
  body += "<table class=\"domains\"><tr>";
  for (const auto& [name, column] : kSortColumns) {
    DomainQuery sorted = query;
    sorted.sort = column;
    sorted.descending = query.sort == column && !query.descending;
    sorted.offset = 0;
    const char* arrow = query.sort == column ? (query.descending ? " &#9660;" : " &#9650;") : "";
    body += "<th><a href=\"/domains" + html_attr(domain_query_string(sorted)) + "\">" +
            html_text(name) + "</a>" + arrow + "</th>";
    if (column == SortColumn::Source) {
      body += "<th>tags</th>";
    }
  }
  body += "</tr>";
  for (const auto& row : page.rows) {
    body += "<tr><td>" + html::domain_link(row.domain) + "</td>" + html::cell(row.source) + "<td>" +
            escaped_join(row.tags) + "</td><td>" + html::label_badge(row.label) + "</td>" +
            html::number_cell(row.holz_score, "{:.2f}") + html::number_cell(row.ipv4_addresses) +
            html::number_cell(row.asns) + html::number_cell(row.countries) +
            html::number_cell(row.min_ttl) +
            (row.scored_at ? html::time_cell(*row.scored_at) : html::cell("-")) + "</tr>";
  }
  body += "</table>";

  // Pager.
  body += "<nav class=\"pager\">";
  if (query.offset > 0) {
    DomainQuery previous = query;
    previous.offset = std::max<std::int64_t>(0, query.offset - query.limit);
    body += "<a rel=\"prev\" href=\"/domains" + html_attr(domain_query_string(previous)) +
            "\">previous</a> ";
  }
  body += fmt::format("rows {}-{} of {}", page.rows.empty() ? 0 : query.offset + 1,
                      query.offset + static_cast<std::int64_t>(page.rows.size()), page.total);
  if (query.offset + query.limit < page.total) {
    DomainQuery next = query;
    next.offset = query.offset + query.limit;
    body +=
        " <a rel=\"next\" href=\"/domains" + html_attr(domain_query_string(next)) + "\">next</a>";
  }
  body += "</nav>";
  return html::page("domains", body, false);
}

std::string render_address(const AddressHistory& h) {
  std::string body = "<h1>Address " + html_text(h.address) + "</h1>";
  if (h.enriched) {
    body += "<table class=\"facts\"><tr><th>ASN</th>" + html::number_cell(h.asn) +
            "</tr><tr><th>AS organisation</th>" + html::cell(h.as_org) +
            "</tr><tr><th>country</th>" +
            html::cell(h.country + (h.country_name.empty() ? "" : " (" + h.country_name + ")")) +
            "</tr><tr><th>city</th>" + html::cell(h.city) + "</tr><tr><th>GeoIP build</th>" +
            html::cell(h.geo_build) + "</tr></table>";
  } else {
    body += "<p>No GeoIP/ASN data is stored for this address.</p>";
  }
  if (!h.geo_history.empty()) {
    // Every GeoIP build that enriched it, consecutive agreeing builds as one period: an
    // address that moved between networks or countries shows each.
    body += fmt::format("<h2>ASN and country over time ({} period{})</h2>", h.geo_history.size(),
                        h.geo_history.size() == 1 ? "" : "s");
    body +=
        "<table id=\"geo-history\"><tr><th>from</th><th>until</th><th>ASN</th>"
        "<th>AS organisation</th><th>country</th><th>GeoIP builds</th></tr>";
    for (const auto& period : h.geo_history) {
      body += "<tr>" + html::time_cell(period.from) +
              (period.until ? html::time_cell(*period.until) : html::cell("now")) +
              html::number_cell(period.asn) + html::cell(period.as_org) +
              html::cell(period.country +
                         (period.country_name.empty() ? "" : " (" + period.country_name + ")")) +
              html::cell(period.builds == 1 ? period.first_build
                                            : fmt::format("{} builds: {} .. {}", period.builds,
                                                          period.first_build, period.last_build)) +
              "</tr>";
    }
    body += "</table>";
  }
  body += fmt::format("<h2>Domains that used it ({})</h2>", h.domains.size());
  body +=
      "<table><tr><th>domain</th><th>first seen</th><th>last seen</th><th>lookups</th>"
      "<th>min TTL</th></tr>";
  for (const auto& use : h.domains) {
    body += "<tr><td>" + html::domain_link(use.domain) + "</td>" + html::time_cell(use.first_seen) +
            html::time_cell(use.last_seen) + "<td class=\"num\">" + std::to_string(use.times_seen) +
            "</td>" + html::number_cell(use.min_ttl) + "</tr>";
  }
  body += "</table>";
  return html::page(h.address, body, false);
}

std::string render_error(int status, const std::string& message) {
  return html::page(std::to_string(status),
                    fmt::format("<h1>{}</h1><p>", status) + html_text(message) + "</p>", false);
}

std::string domains_csv(const DomainPage& page) {
  std::string out =
      "domain,source,tags,label,holz_score,ipv4_addresses,asns,countries,min_ttl,scored_at\n";
  const auto number = [](const auto& value) {
    return value ? fmt::format("{}", *value) : std::string();
  };
  for (const auto& row : page.rows) {
    out += csv_field(row.domain) + "," + csv_field(row.source) + "," +
           csv_field(join(row.tags, ";")) + "," + csv_field(row.label) + "," +
           (row.holz_score ? fmt::format("{:.4f}", *row.holz_score) : "") + "," +
           number(row.ipv4_addresses) + "," + number(row.asns) + "," + number(row.countries) + "," +
           number(row.min_ttl) + "," + (row.scored_at ? iso_time(*row.scored_at) : "") + "\n";
  }
  return out;
}

std::string domains_json(const DomainPage& page) {
  const auto value = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : page.rows) {
    rows.push_back({{"domain", row.domain},
                    {"source", row.source},
                    {"tags", row.tags},
                    {"label", row.label.empty() ? nlohmann::json() : nlohmann::json(row.label)},
                    {"holz_score", value(row.holz_score)},
                    {"ipv4_addresses", value(row.ipv4_addresses)},
                    {"asns", value(row.asns)},
                    {"countries", value(row.countries)},
                    {"min_ttl", value(row.min_ttl)},
                    {"scored_at",
                     row.scored_at ? nlohmann::json(iso_time(*row.scored_at)) : nlohmann::json()}});
  }
  return html::json_text({{"total", page.total}, {"domains", rows}}) + "\n";
}

}  // namespace fluxwatch::web
