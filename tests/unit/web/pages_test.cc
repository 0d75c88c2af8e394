// The page renderers (web/src/pages.cc, domain_page.cc) on values a hostile name server
// could have put in the database, and the request parsing of the domains table.
#include "fluxwatch/web/pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>

#include "fluxwatch/web/world_map.h"

namespace fluxwatch::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kMarkup = "<img src=x onerror=alert(1)>.evil\"'&";

TimePoint at(int seconds) { return TimePoint(std::chrono::seconds(1'790'000'000 + seconds)); }

DomainHistory hostile_history() {
  DomainHistory h;
  h.domain = "hostile.test";
  h.source = "<b>feed</b>";
  h.tags = {"<i>tag</i>"};
  h.verdict.emplace();
  h.verdict->label = "fast_flux";
  h.verdict->reasons = {"reason with <script>alert(1)</script>"};
  h.verdict->holz_score = 12.5;
  h.verdict->computed_at = at(500);
  h.sightings = {{1, at(0), "A", 30, "10.0.0.1", 64500, "<svg onload=alert(1)>", "DE"},
                 {1, at(0), "A", 30, "10.0.0.2", 64501, "Org", "US"},
                 {2, at(60), "A", 30, "10.0.0.3", std::nullopt, "", ""}};
  h.ns_sets = {{at(0), "hostile.test", {kMarkup, "ns1.ok.test"}, 300}};
  h.other_records = {
      {"CNAME", "www.hostile.test", kMarkup, 2, at(0), at(60)},
      {"TXT", "hostile.test", "\"</script><script>alert(2)</script>\"", 1, at(0), at(0)}};
  h.scores = {{1, at(500), "fast_flux", 12.5, 3, 2}};
  return h;
}

/// Every <script> element of a page: only the two files and the JSON data block.
std::vector<std::string> script_tags(const std::string& page) {
  std::vector<std::string> tags;
  const std::regex script("<script[^>]*>");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), script);
       it != std::sregex_iterator(); ++it) {
    tags.push_back(it->str());
  }
  return tags;
}

TEST(DomainPage, HostileValuesStayText) {
  const auto page = render_domain(hostile_history(), {});
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, Not(HasSubstr("<svg onload")));  // the AS org; the map is the only <svg>
  std::size_t svgs = 0;
  for (auto at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1)) {
    ++svgs;
  }
  EXPECT_EQ(svgs, 1U);
  EXPECT_THAT(page, HasSubstr("&lt;svg onload=alert(1)&gt;"));
  EXPECT_THAT(page, Not(HasSubstr("<b>feed")));
  EXPECT_THAT(page, Not(HasSubstr("<i>tag")));
  EXPECT_THAT(page, HasSubstr("&lt;img src=x onerror=alert(1)&gt;.evil&quot;&#39;&amp;"));
  EXPECT_THAT(page, HasSubstr("reason with &lt;script&gt;"));
  EXPECT_THAT(page, HasSubstr("/domains?tag=%3Ci%3Etag%3C%2Fi%3E"));
  EXPECT_THAT(script_tags(page),
              ::testing::ElementsAre("<script type=\"application/json\" id=\"chart-data\">",
                                     "<script src=\"/static/chart.min.js\">",
                                     "<script src=\"/static/fluxwatch.js\">"));
}

TEST(DomainPage, ChartDataParsesBackWithOnePointPerSighting) {
  const auto page = render_domain(hostile_history(), {});
  const std::string open = "<script type=\"application/json\" id=\"chart-data\">";
  const auto begin = page.find(open) + open.size();
  const auto end = page.find("</script>", begin);
  const auto data = nlohmann::json::parse(page.substr(begin, end - begin));
  std::size_t timeline_points = 0;
  std::size_t growth_points = 0;
  for (const auto& chart : data["charts"]) {
    for (const auto& series : chart.value("series", nlohmann::json::array())) {
      (chart["id"] == "timeline" ? timeline_points : growth_points) +=
          chart["id"] == "timeline" || chart["id"] == "growth" ? series["points"].size() : 0;
    }
  }
  EXPECT_EQ(timeline_points, 3U);
  EXPECT_EQ(growth_points, 4U);  // two lookups x (addresses, ASNs)
  EXPECT_THAT(data.dump(), HasSubstr("AS64500 10.0.0.1 DE"));
}

TEST(DomainPage, ShowsVerdictAddressesAndWindowSelector) {
  Params params{{"since", "7d"}};
  const auto page = render_domain(hostile_history(), params);
  EXPECT_THAT(page, HasSubstr("<span class=\"badge fast_flux\">fast_flux</span>"));
  EXPECT_THAT(page, HasSubstr("<a href=\"/address/10.0.0.1\">10.0.0.1</a>"));
  EXPECT_THAT(page, HasSubstr("class=\"current\" href=\"/domain/hostile.test?since=7d\""));
  EXPECT_THAT(page, HasSubstr("name=\"since\" placeholder=\"2026-11-22 or 7d\" value=\"7d\""));
  EXPECT_THAT(page, HasSubstr("2 lookups with 3 address records"));
}

TEST(TimeWindow, ParsesDurationsAndDatesAndRejectsTheRest) {
  const auto now = at(100000);
  std::string error;
  const auto window = time_window_from({{"since", "1h"}, {"until", "2026-01-01"}}, now, error);
  ASSERT_FALSE(window);  // since (now - 1h) is after until
  EXPECT_THAT(error, HasSubstr("before"));
  const auto ok = time_window_from({{"since", "1h"}}, now, error);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok->since, now - std::chrono::hours(1));
  EXPECT_FALSE(ok->until);
  EXPECT_FALSE(time_window_from({{"until", "<script>"}}, now, error));
  EXPECT_THAT(error, HasSubstr("until '<script>' is not a time"));
}

TEST(DomainQuery, ParsesFiltersSortAndPageWithFallbacks) {
  const std::vector<CampaignRow> campaigns{{"hourly", {"flux"}, {"lab"}, std::chrono::hours(1), 0}};
  const auto query = domain_query_from({{"label", "fast_flux"},
                                        {"tag", "flux"},
                                        {"name", "alpha"},
                                        {"campaign", "hourly"},
                                        {"sort", "asns"},
                                        {"order", "desc"},
                                        {"limit", "50"},
                                        {"offset", "100"}},
                                       campaigns);
  EXPECT_EQ(query.label, "fast_flux");
  EXPECT_EQ(query.sort, SortColumn::Asns);
  EXPECT_TRUE(query.descending);
  EXPECT_EQ(query.limit, 50);
  EXPECT_EQ(query.offset, 100);
  ASSERT_TRUE(query.campaign);
  EXPECT_EQ(query.campaign->first, std::vector<std::string>{"flux"});
  EXPECT_EQ(domain_query_string(query),
            "?label=fast_flux&tag=flux&name=alpha&campaign=hourly&sort=asns&order=desc&limit=50"
            "&offset=100");

  const auto fallback = domain_query_from(
      {{"sort", "1; DROP TABLE watchlist"}, {"limit", "-5"}, {"offset", "x"}, {"campaign", "no"}},
      campaigns);
  EXPECT_EQ(fallback.sort, SortColumn::Domain);
  EXPECT_EQ(fallback.limit, 1);
  EXPECT_EQ(fallback.offset, 0);
  ASSERT_TRUE(fallback.campaign);  // an unknown campaign selects nothing
  EXPECT_TRUE(fallback.campaign->first.empty());
  EXPECT_TRUE(fallback.campaign->second.empty());
}

DomainPage hostile_domains() {
  DomainPage page;
  page.total = 250;
  page.rows = {
      {"a.test", "=cmd|' /C calc'!A0", {"x,y", "<b>"}, "fast_flux", 12.345, 10, 5, 3, 30, at(0)},
      {"b.test",
       "",
       {},
       "",
       std::nullopt,
       std::nullopt,
       std::nullopt,
       std::nullopt,
       std::nullopt,
       std::nullopt}};
  return page;
}

TEST(DomainsPage, EscapesAndPagesAndKeepsTheSelectionInLinks) {
  DomainQuery query;
  query.name = "a\"b";
  query.offset = 100;
  const auto page = render_domains(hostile_domains(), query, {});
  EXPECT_THAT(page, Not(HasSubstr("<b>")));
  EXPECT_THAT(page, HasSubstr("value=\"a&quot;b\""));
  EXPECT_THAT(page, HasSubstr("href=\"/domains.csv?name=a%22b\""));
  EXPECT_THAT(page, HasSubstr("rel=\"prev\" href=\"/domains?name=a%22b\""));
  EXPECT_THAT(page, HasSubstr("rel=\"next\" href=\"/domains?name=a%22b&amp;offset=200\""));
  EXPECT_THAT(page, HasSubstr("rows 101-102 of 250"));
  EXPECT_THAT(page, Not(HasSubstr("<script")));  // no chart, no script
}

TEST(DomainsExport, CsvAndJsonOfTheSameRows) {
  const auto csv = domains_csv(hostile_domains());
  EXPECT_EQ(
      csv,
      "domain,source,tags,label,holz_score,ipv4_addresses,asns,countries,min_ttl,scored_at\n"
      "a.test,'=cmd|' /C calc'!A0,\"x,y;<b>\",fast_flux,12.3450,10,5,3,30,2026-09-21T14:13:20Z\n"
      "b.test,,,,,,,,,\n");
  const auto json = nlohmann::json::parse(domains_json(hostile_domains()));
  EXPECT_EQ(json["total"], 250);
  ASSERT_EQ(json["domains"].size(), 2U);
  EXPECT_EQ(json["domains"][0]["tags"][0], "x,y");
  EXPECT_TRUE(json["domains"][1]["label"].is_null());
}

TEST(AddressPage, ListsDomainsAndEscapesGeoData) {
  AddressHistory h{"10.0.0.1", 64500,     "<AS org>",
                   "DE",       "Germany", "<city>",
                   "build",    true,      {{"flux.test", at(0), at(60), 2, 30}}};
  const auto page = render_address(h);
  EXPECT_THAT(page, HasSubstr("&lt;AS org&gt;"));
  EXPECT_THAT(page, HasSubstr("&lt;city&gt;"));
  EXPECT_THAT(page, HasSubstr("<a href=\"/domain/flux.test\">flux.test</a>"));
}

TEST(AddressPage, ShowsEachAsnAndCountryPeriodOldestFirst) {
  AddressHistory h;
  h.address = "10.0.0.1";
  h.enriched = true;
  h.geo_history = {{64500, "Old <Org>", "DE", "Germany", at(0), at(100), 1, "b1", "b1"},
                   {64999, "New Org", "NZ", "New Zealand", at(100), std::nullopt, 3, "b2", "b4"}};
  const auto page = render_address(h);
  EXPECT_THAT(page, HasSubstr("ASN and country over time (2 periods)"));
  EXPECT_THAT(page, HasSubstr("Old &lt;Org&gt;"));
  EXPECT_THAT(page, HasSubstr("3 builds: b2 .. b4"));
  EXPECT_LT(page.find(">64500<"), page.find(">64999<"));
  EXPECT_THAT(page, HasSubstr("<td>now</td>"));
}

TEST(Overview, CampaignBacklogAndLastRoundOrNotScheduled) {
  Overview view;
  CampaignRow scheduled{"<fast>", {"t"}, {}, std::chrono::seconds(300), 10};
  scheduled.scheduled = 10;
  scheduled.due_now = 4;
  scheduled.backlog = 3;
  scheduled.oldest_overdue_seconds = 5400;
  scheduled.last_probe = at(0);
  view.campaigns = {scheduled, CampaignRow{"idle", {}, {"feed"}, std::chrono::seconds(60), 2}};
  const auto page = render_overview(view);
  EXPECT_THAT(page, HasSubstr("&lt;fast&gt;"));
  EXPECT_THAT(page, HasSubstr("<td class=\"num warning\">3</td><td>90m</td><td>" + iso_time(at(0)) +
                              "</td>"));
  EXPECT_THAT(page, HasSubstr("not scheduled yet"));
}

TEST(WorldMap, MarksTheCountriesOnTheOutlineAndNamesTheRest) {
  const auto figure = world_map_figure({{"DE", 4}, {"US", 1}, {"SG", 2}, {"??", 3}});
  // The whole outline is there (about 170 countries at 1:110m), nothing else is drawn.
  std::size_t paths = 0;
  for (auto at = figure.find("<path "); at != std::string::npos;
       at = figure.find("<path ", at + 1)) {
    ++paths;
  }
  EXPECT_GE(paths, 150U);
  std::vector<std::string> marked;
  const std::regex country("data-country=\"([A-Z?]+)\" data-addresses=\"([0-9]+)\"");
  for (auto it = std::sregex_iterator(figure.begin(), figure.end(), country);
       it != std::sregex_iterator(); ++it) {
    marked.push_back((*it)[1].str() + "=" + (*it)[2].str());
  }
  std::sort(marked.begin(), marked.end());
  EXPECT_EQ(marked, (std::vector<std::string>{"DE=4", "SG=2", "US=1"}));
  EXPECT_THAT(figure, HasSubstr("<circle class=\"marked m2\" data-country=\"SG\""));  // too small
  EXPECT_THAT(figure, HasSubstr("class=\"land marked m4\" data-country=\"DE\""));
  EXPECT_THAT(figure, HasSubstr("not on the map: ?? (3)"));
  EXPECT_THAT(figure, Not(HasSubstr("http")));  // inline SVG: no namespace URL, no link
  EXPECT_THAT(figure, Not(HasSubstr("style=")));
}

TEST(ErrorPage, EscapesTheMessage) {
  EXPECT_THAT(render_error(404, "<x> is not on the watchlist."),
              HasSubstr("&lt;x&gt; is not on the watchlist."));
}

}  // namespace
}  // namespace fluxwatch::web
