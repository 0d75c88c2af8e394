// The page renderers (web/src/pages.cc, domain_page.cc) on values a hostile name server
// could have put in the database, and the request parsing of the domains table.
#include "fluxwatch/web/pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

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
  EXPECT_THAT(page, Not(HasSubstr("<svg")));
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

TEST(ErrorPage, EscapesTheMessage) {
  EXPECT_THAT(render_error(404, "<x> is not on the watchlist."),
              HasSubstr("&lt;x&gt; is not on the watchlist."));
}

}  // namespace
}  // namespace fluxwatch::web
