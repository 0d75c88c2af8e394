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
  const auto row = table.substr(first_newline + 1, table.find('\n', first_newline + 1) - first_newline - 1);
  EXPECT_EQ(header.find("probes") + 6, row.find(" 9") + 2);  // right-aligned under its header
  EXPECT_THAT(render({}, Format::Table), HasSubstr("no domains"));
}

TEST(Report, ParsesFormats) {
  EXPECT_EQ(parse_format("csv"), Format::Csv);
  EXPECT_EQ(parse_format("json"), Format::Json);
  EXPECT_EQ(parse_format("table"), Format::Table);
  EXPECT_FALSE(parse_format("xml").has_value());
}

}  // namespace
}  // namespace fluxwatch::report
