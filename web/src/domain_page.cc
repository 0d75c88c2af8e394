// The domain page: verdict and reasons, address timeline, growth curves, TTLs, NS and SOA
// changes, score history, countries, with a window selector.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "fluxwatch/scoring/time_arg.h"
#include "fluxwatch/web/pages.h"
#include "fluxwatch/web/world_map.h"
#include "html.h"

namespace fluxwatch::web {
namespace {

using html::param;

nlohmann::json series(std::string_view label, std::string_view colour, nlohmann::json points) {
  return {{"label", label}, {"colour", colour}, {"points", std::move(points)}};
}

std::string timeline_row_label(const Timeline::Row& row) {
  return (row.asn ? fmt::format("AS{} ", *row.asn) : std::string("AS? ")) + row.address +
         (row.country.empty() ? "" : " " + row.country);
}

nlohmann::json chart_specs(const DomainHistory& h) {
  const auto timeline = make_timeline(h.sightings);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : timeline.rows) {
    rows.push_back(timeline_row_label(row));
  }
  // One series per country, so the legend names the colours.
  std::map<std::string, nlohmann::json> by_country;
  for (const auto& mark : timeline.marks) {
    const auto& country = timeline.rows[mark.row].country;
    auto& points = by_country[country.empty() ? "??" : country];
    if (points.is_null()) {
      points = nlohmann::json::array();
    }
    points.push_back({epoch_ms(mark.when), mark.row});
  }
  nlohmann::json timeline_series = nlohmann::json::array();
  for (auto& [country, points] : by_country) {
    timeline_series.push_back(series(country, country_colour(country), std::move(points)));
  }

  const auto growth = make_growth(h.sightings);
  nlohmann::json addresses = nlohmann::json::array();
  nlohmann::json asns = nlohmann::json::array();
  nlohmann::json ttls = nlohmann::json::array();
  for (const auto& point : growth) {
    addresses.push_back({point.lookup, point.addresses});
    asns.push_back({point.lookup, point.asns});
    ttls.push_back({epoch_ms(point.when), point.min_ttl});
  }
  nlohmann::json scores = nlohmann::json::array();
  for (const auto& score : h.scores) {
    scores.push_back({epoch_ms(score.computed_at), score.holz_score});
  }
  nlohmann::json countries = nlohmann::json::array();
  nlohmann::json colours = nlohmann::json::array();
  for (const auto& count : count_countries(h.sightings)) {
    countries.push_back({count.country, count.addresses});
    colours.push_back(country_colour(count.country));
  }
  return {
      {"charts",
       {{{"id", "timeline"}, {"kind", "timeline"}, {"rows", rows}, {"series", timeline_series}},
        {{"id", "growth"},
         {"kind", "lookups"},
         {"y", "distinct"},
         {"series", {series("addresses", "#1f77b4", addresses), series("ASNs", "#d62728", asns)}}},
        {{"id", "ttl"},
         {"kind", "time"},
         {"y", "smallest TTL (s)"},
         {"series", {series("TTL", "#2ca02c", ttls)}}},
        {{"id", "scores"},
         {"kind", "time"},
         {"y", "Holz flux-score"},
         {"series", {series("flux-score", "#9467bd", scores)}}},
        {{"id", "countries"},
         {"kind", "bar"},
         {"y", "distinct addresses"},
         {"colours", colours},
         {"bars", countries}}}}};
}

std::string window_selector(const DomainHistory& h, const Params& params) {
  const auto base = "/domain/" + url_component(h.domain);
  std::string out = "<nav class=\"window\">window: ";
  for (const char* preset : {"1h", "24h", "7d", "30d"}) {
    const bool current = param(params, "since") == preset && param(params, "until").empty();
    out += fmt::format("<a{} href=\"{}?since={}\">last {}</a> ",
                       current ? " class=\"current\"" : "", html_attr(base), preset, preset);
  }
  out += "<a href=\"" + html_attr(base) + "\">all</a>";
  out += "<form method=\"get\" action=\"" + html_attr(base) + "\">";
  out += "<label>since <input name=\"since\" placeholder=\"2026-11-22 or 7d\" value=\"" +
         html_attr(param(params, "since")) + "\"></label> ";
  out += "<label>until <input name=\"until\" placeholder=\"2026-11-23T00:00:00Z\" value=\"" +
         html_attr(param(params, "until")) + "\"></label> ";
  out += "<button type=\"submit\">show</button></form></nav>";
  return out;
}

std::string verdict_section(const DomainHistory& h) {
  if (!h.verdict) {
    return "<section><h2>Verdict</h2><p>Not scored yet: run <code>fluxwatch score</code>.</p>"
           "</section>";
  }
  const auto& v = *h.verdict;
  std::string out =
      "<section class=\"verdict\"><h2>Verdict " + html::label_badge(v.label) + "</h2>";
  out +=
      "<p>" +
      html_text(fmt::format(
          "Holz flux-score {:.2f}; scored {} over [{}, {}).", v.holz_score, iso_time(v.computed_at),
          v.window_start ? iso_time(*v.window_start) : "first probe", iso_time(v.window_end))) +
      "</p><ul class=\"reasons\">";
  for (const auto& reason : v.reasons) {
    out += "<li>" + html_text(reason) + "</li>";
  }
  out +=
      "</ul><table class=\"facts\"><tr><th>IPv4 addresses</th><th>IPv6 addresses</th>"
      "<th>ASNs</th><th>countries</th><th>NS names</th><th>min TTL</th>"
      "<th>set change ratio</th></tr><tr>";
  out += html::number_cell(std::optional(v.ipv4_addresses)) +
         html::number_cell(std::optional(v.ipv6_addresses)) +
         html::number_cell(std::optional(v.asns)) + html::number_cell(std::optional(v.countries)) +
         html::number_cell(std::optional(v.ns_names)) + html::number_cell(v.min_ttl) +
         html::number_cell(v.set_change_ratio, "{:.2f}") + "</tr></table></section>";
  return out;
}

std::string addresses_table(const DomainHistory& h) {
  // One row per address: ASN, country, how often and when it was seen in the window.
  struct Seen {
    const Sighting* first = nullptr;
    TimePoint last{};
    std::size_t times = 0;
  };
  std::map<std::string, Seen> seen;
  for (const auto& s : h.sightings) {
    auto& entry = seen[s.address];
    if (entry.first == nullptr) {
      entry.first = &s;
    }
    entry.last = s.sent_at;
    ++entry.times;
  }
  std::string out = fmt::format(
      "<section><h2>Addresses ({})</h2><table class=\"addresses\"><tr><th>address</th>"
      "<th>ASN</th><th>AS organisation</th><th>country</th><th>seen</th><th>first</th>"
      "<th>last</th></tr>",
      seen.size());
  for (const auto& [address, entry] : seen) {
    out += "<tr><td>" + html::address_link(address) + "</td>" +
           html::number_cell(entry.first->asn) + html::cell(entry.first->as_org) +
           "<td class=\"country\">" + html_text(entry.first->country) + "</td><td class=\"num\">" +
           std::to_string(entry.times) + "</td>" + html::time_cell(entry.first->sent_at) +
           html::time_cell(entry.last) + "</tr>";
  }
  return out + "</table></section>";
}

std::string ns_soa_section(const DomainHistory& h) {
  std::string out = "<section><h2>NS set changes</h2>";
  const auto ns = ns_changes(h.ns_sets);
  if (ns.empty()) {
    out += "<p>No NS answer in this window.</p>";
  } else {
    out += fmt::format("<p>{} NS answer{}, {} distinct step{}.</p>", h.ns_sets.size(),
                       h.ns_sets.size() == 1 ? "" : "s", ns.size(), ns.size() == 1 ? "" : "s");
    out += "<table class=\"ns\"><tr><th>time</th><th>zone</th><th>NS set</th><th>TTL</th></tr>";
    for (const auto& set : ns) {
      out += "<tr>" + html::time_cell(set.sent_at) + html::cell(set.zone) + "<td>";
      for (const auto& name : set.ns_names) {
        out += "<span class=\"ns-name\">" + html_text(name) + "</span> ";
      }
      out += "</td>" + html::number_cell(set.ttl) + "</tr>";
    }
    out += "</table>";
  }
  out += "</section><section><h2>SOA serial changes</h2>";
  const auto soa = soa_changes(h.soa_serials);
  if (soa.empty()) {
    out +=
        "<p>No SOA answer of the domain's own name servers in this window (authoritative "
        "campaigns record them).</p>";
  } else {
    out += "<table><tr><th>time</th><th>zone</th><th>server</th><th>serial</th></tr>";
    for (const auto& s : soa) {
      out += "<tr>" + html::time_cell(s.sent_at) + html::cell(s.zone) + html::cell(s.server_name) +
             html::number_cell(s.serial) + "</tr>";
    }
    out += "</table>";
  }
  return out + "</section>";
}

std::string other_records_section(const DomainHistory& h) {
  if (h.other_records.empty()) {
    return "";
  }
  std::string out =
      "<section><h2>Other answer records</h2><table class=\"records\"><tr><th>type</th>"
      "<th>owner</th><th>target / data</th><th>seen</th><th>first</th><th>last</th></tr>";
  for (const auto& r : h.other_records) {
    out += "<tr>" + html::cell(r.rtype) + html::cell(r.owner) + "<td class=\"target\">" +
           html_text(r.target) + "</td><td class=\"num\">" + std::to_string(r.times_seen) +
           "</td>" + html::time_cell(r.first_seen) + html::time_cell(r.last_seen) + "</tr>";
  }
  return out + "</table></section>";
}

}  // namespace

std::optional<TimeWindow> time_window_from(const Params& params, TimePoint now,
                                           std::string& error) {
  TimeWindow window;
  for (const char* name : {"since", "until"}) {
    const auto text = param(params, name);
    if (text.empty()) {
      continue;
    }
    const auto when = scoring::parse_time_arg(text, now);
    if (!when) {
      error = fmt::format(
          "{} '{}' is not a time: use 2026-11-22T18:00:00Z, 2026-11-22 or a "
          "duration back from now such as 24h or 7d",
          name, text);
      return std::nullopt;
    }
    (std::string_view(name) == "since" ? window.since : window.until) = *when;
  }
  if (window.since && window.until && *window.since >= *window.until) {
    error = "since must be before until";
    return std::nullopt;
  }
  return window;
}

std::string render_domain(const DomainHistory& h, const Params& params) {
  std::string body = "<h1>" + html_text(h.domain) + "</h1>";
  body += "<p class=\"meta\">source " + html_text(h.source.empty() ? "-" : h.source) + "; tags ";
  for (const auto& tag : h.tags) {
    body += "<a href=\"/domains?tag=" + html_attr(url_component(tag)) + "\">" + html_text(tag) +
            "</a> ";
  }
  body += "</p>";
  body += window_selector(h, params);
  body += verdict_section(h);
  const auto lookups = make_growth(h.sightings).size();
  body +=
      fmt::format("<p>{} lookup{} with {} address record{} in this window.</p>", lookups,
                  lookups == 1 ? "" : "s", h.sightings.size(), h.sightings.size() == 1 ? "" : "s");
  if (h.sightings_truncated) {
    body += fmt::format(
        "<p class=\"warning\">Only the first {} address records of this window "
        "are shown: choose a shorter window.</p>",
        h.sightings.size());
  }
  body += "<div class=\"charts\">";
  body += html::chart_figure("timeline",
                             "Addresses over time: one row per address, grouped by ASN, "
                             "coloured by country, a mark per lookup that returned it");
  body += html::chart_figure("growth", "Distinct addresses and ASNs against lookups");
  body += html::chart_figure("ttl", "Smallest TTL of each lookup");
  body += html::chart_figure("countries", "Distinct addresses per country");
  body += html::chart_figure("scores", "Holz flux-score of each score run");
  body += "</div>";
  body += world_map_figure(count_countries(h.sightings));
  body += addresses_table(h);
  body += ns_soa_section(h);
  body += other_records_section(h);
  body +=
      "<section><h2>Score history</h2><table><tr><th>run</th><th>computed</th><th>label</th>"
      "<th>Holz score</th><th>IPv4 addresses</th><th>IPv4 ASNs</th></tr>";
  for (const auto& s : h.scores) {
    body += "<tr><td class=\"num\">" + std::to_string(s.score_run_id) + "</td>" +
            html::time_cell(s.computed_at) + "<td>" + html::label_badge(s.label) + "</td>" +
            html::number_cell(std::optional(s.holz_score), "{:.2f}") +
            html::number_cell(std::optional(s.ipv4_addresses)) +
            html::number_cell(std::optional(s.ipv4_asns)) + "</tr>";
  }
  body += "</table></section>";
  body += html::chart_data(html::json_text(chart_specs(h)));
  return html::page(h.domain, body, true);
}

}  // namespace fluxwatch::web
