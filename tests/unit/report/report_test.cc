#include "fluxwatch/report/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fluxwatch::report {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<storage::DomainSummary> sample() {
  storage::DomainSummary flux;
  flux.domain = "flux-alpha.test";
  flux.probes = 9;
  flux.ipv4_addresses = 15;
  flux.asns = 12;
  flux.countries = 11;
  flux.min_ttl = 30;
  flux.last_outcome = "NOERROR";
  flux.last_probe = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  storage::DomainSummary never;
  never.domain = "never,probed.test";  // a comma forces CSV quoting
  return {flux, never};
}

TEST(Report, CsvHasAStableHeaderAndQuotes) {
  const auto csv = render(sample(), Format::Csv);
  EXPECT_THAT(csv, StartsWith("domain,probes,ipv4,ipv6,asns,countries,ns_names,min_ttl,"
                              "last_outcome,last_probe\n"));
  EXPECT_THAT(csv, HasSubstr("flux-alpha.test,9,15,0,12,11,0,30,NOERROR,2023-11-14T22:13:20Z\n"));
  EXPECT_THAT(csv, HasSubstr("\"never,probed.test\",0,0,0,0,0,0,,,\n"));
}

TEST(Report, JsonUsesNullsForUnknowns) {
  const auto json = nlohmann::json::parse(render(sample(), Format::Json));
  ASSERT_EQ(json.size(), 2U);
  EXPECT_EQ(json[0]["asns"], 12);
  EXPECT_EQ(json[0]["min_ttl"], 30);
  EXPECT_EQ(json[0]["last_probe"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(json[1]["min_ttl"].is_null());
  EXPECT_TRUE(json[1]["last_outcome"].is_null());
}

TEST(Report, TableAlignsColumns) {
  const auto table = render(sample(), Format::Table);
  const auto first_newline = table.find('\n');
  const auto header = table.substr(0, first_newline);
  EXPECT_THAT(header, StartsWith("domain"));
  const auto row =
      table.substr(first_newline + 1, table.find('\n', first_newline + 1) - first_newline - 1);
  EXPECT_EQ(header.find("probes") + 6, row.find(" 9") + 2);  // right-aligned under its header
  EXPECT_THAT(render({}, Format::Table), HasSubstr("no domains"));
}

std::vector<ScoredRow> scored_sample() {
  const auto rows = sample();
  ScoredRow flux{rows[0], ScoreCells{"fast_flux",
                                     32.346,
                                     rows[0].last_probe.value(),
                                     {"many ASNs", "say \"flux\""},
                                     std::nullopt,
                                     rows[0].last_probe.value()}};
  storage::DomainSummary cdn_summary;
  cdn_summary.domain = "cdn.test";
  cdn_summary.ipv4_addresses = 40;
  cdn_summary.asns = 1;
  ScoredRow cdn{cdn_summary, ScoreCells{"cdn_like",
                                        -121.19999999999999,
                                        {},
                                        {"one ASN"},
                                        rows[0].last_probe.value(),
                                        rows[0].last_probe.value()}};
  storage::DomainSummary other_flux_summary;
  other_flux_summary.domain = "a-flux.test";
  other_flux_summary.ipv4_addresses = 30;
  ScoredRow other_flux{other_flux_summary, ScoreCells{"fast_flux", 99.5, {}, {}}};
  return {flux, ScoredRow{rows[1], std::nullopt}, cdn, other_flux};
}

std::vector<std::string> domains(const std::vector<ScoredRow>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows) {
    out.push_back(row.summary.domain);
  }
  return out;
}

TEST(Report, ScoreColumnsAreAppendedAtTheEnd) {
  const auto csv = render_scored(scored_sample(), Format::Csv);
  EXPECT_THAT(csv, StartsWith("domain,probes,ipv4,ipv6,asns,countries,ns_names,min_ttl,"
                              "last_outcome,last_probe,label,holz_score,scored_at,window_start,"
                              "window_end\n"));
  EXPECT_THAT(csv, HasSubstr("\nflux-alpha.test,9,15,0,12,11,0,30,NOERROR,2023-11-14T22:13:20Z,"
                             "fast_flux,32.35,2023-11-14T22:13:20Z,first_probe,"
                             "2023-11-14T22:13:20Z\n"));
  // A domain without a score says so (issue 16).
  EXPECT_THAT(csv, HasSubstr("\n\"never,probed.test\",0,0,0,0,0,0,,,,unscored,,,,\n"));
  const auto text = render_scored(scored_sample(), Format::Json);
  const auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json[0]["label"], "fast_flux");
  EXPECT_EQ(json[0]["reasons"][1], "say \"flux\"");
  EXPECT_TRUE(json[0]["window_start"].is_null());
  EXPECT_EQ(json[0]["window_end"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(json[1]["label"], "unscored");
  EXPECT_TRUE(json[1]["holz_score"].is_null());
  EXPECT_TRUE(json[1]["reasons"].empty());
  // Numbers rounded as in CSV: no -121.19999999999999 in JSON (issue 16).
  EXPECT_THAT(text, HasSubstr("\"holz_score\": -121.2,"));
  EXPECT_THAT(text, HasSubstr("\"holz_score\": 32.35,"));
  EXPECT_EQ(json[2]["window_start"], "2023-11-14T22:13:20Z");
  const auto table = render_scored(scored_sample(), Format::Table);
  EXPECT_THAT(table, HasSubstr("holz_score"));
  EXPECT_THAT(table, HasSubstr("window_start"));
  EXPECT_THAT(table, HasSubstr("cover all history"));
  // Without scores the output is exactly the old one.
  EXPECT_EQ(render(sample(), Format::Csv).find("label"), std::string::npos);
}

TEST(Report, FiltersByLabel) {
  EXPECT_EQ(domains(select_rows(scored_sample(), {"fast_flux"}, ReportOrder::Domain, false)),
            (std::vector<std::string>{"a-flux.test", "flux-alpha.test"}));
  EXPECT_EQ(
      domains(select_rows(scored_sample(), {"unscored", "cdn_like"}, ReportOrder::Domain, false)),
      (std::vector<std::string>{"cdn.test", "never,probed.test"}));
  EXPECT_TRUE(select_rows(scored_sample(), {"double_flux"}, ReportOrder::Domain, false).empty());
  EXPECT_EQ(select_rows(scored_sample(), {}, ReportOrder::Domain, false).size(), 4U);
}

TEST(Report, SortsByScoreLabelAndCounts) {
  EXPECT_EQ(domains(select_rows(scored_sample(), {}, ReportOrder::Score, true)),
            (std::vector<std::string>{"a-flux.test", "flux-alpha.test", "cdn.test",
                                      "never,probed.test"}));
  EXPECT_EQ(domains(select_rows(scored_sample(), {}, ReportOrder::Score, false)),
            (std::vector<std::string>{"cdn.test", "flux-alpha.test", "a-flux.test",
                                      "never,probed.test"}));
  EXPECT_EQ(domains(select_rows(scored_sample(), {}, ReportOrder::Label, false)),
            (std::vector<std::string>{"cdn.test", "a-flux.test", "flux-alpha.test",
                                      "never,probed.test"}));
  EXPECT_EQ(domains(select_rows(scored_sample(), {}, ReportOrder::Addresses, true)),
            (std::vector<std::string>{"cdn.test", "a-flux.test", "flux-alpha.test",
                                      "never,probed.test"}));
  EXPECT_EQ(domains(select_rows(scored_sample(), {}, ReportOrder::Domain, true)),
            (std::vector<std::string>{"never,probed.test", "flux-alpha.test", "cdn.test",
                                      "a-flux.test"}));
  EXPECT_EQ(parse_report_order("score"), ReportOrder::Score);
  EXPECT_FALSE(parse_report_order("holz").has_value());
}

TEST(Report, ParsesFormats) {
  EXPECT_EQ(parse_format("csv"), Format::Csv);
  EXPECT_EQ(parse_format("json"), Format::Json);
  EXPECT_EQ(parse_format("table"), Format::Table);
  EXPECT_FALSE(parse_format("xml").has_value());
}

}  // namespace
}  // namespace fluxwatch::report
