// The status verdict and renderings, on hand-made snapshots (the SQL side is tested
// through the executable in tests/integration/service/status_test.cc).
#include "fluxwatch/status/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace fluxwatch::status {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

StatusReport reachable_report() {
  StatusReport report;
  report.reachable = true;
  report.database = "dbname=x";
  report.checked_at = Clock::now();
  CampaignStatus campaign;
  campaign.name = "c1";
  campaign.domains = 10;
  report.campaigns.push_back(campaign);
  return report;
}

TEST(StatusMask, HidesPasswordsInBothDsnForms) {
  EXPECT_EQ(mask_password("host=h password=secret dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(mask_password("host=h password = 'se cret' dbname=d"),
            "host=h password = *** dbname=d");
  EXPECT_EQ(mask_password("postgresql://alice:secret@db.example/fw"),
            "postgresql://alice:***@db.example/fw");
  EXPECT_EQ(mask_password("postgres://alice@db.example/fw"), "postgres://alice@db.example/fw");
  EXPECT_EQ(mask_password("host=/run/postgresql dbname=fw"), "host=/run/postgresql dbname=fw");
}

TEST(StatusJudge, HealthyWhenNothingIsLate) {
  auto report = reachable_report();
  judge(report, HealthLimits{});
  EXPECT_EQ(report.health, Health::Healthy);
  EXPECT_TRUE(report.problems.empty());
}

TEST(StatusJudge, UnreachableIsDown) {
  StatusReport report;
  report.error = "connection refused";
  judge(report, HealthLimits{});
  EXPECT_EQ(report.health, Health::Down);
  EXPECT_THAT(report.problems.at(0), HasSubstr("connection refused"));
}

TEST(StatusJudge, EachLimitMakesItDegraded) {
  {
    auto report = reachable_report();
    report.campaigns[0].backlog = 3;
    report.campaigns[0].oldest_overdue_seconds = 301;
    judge(report, HealthLimits{});
    EXPECT_EQ(report.health, Health::Degraded);
  }
  {
    auto report = reachable_report();
    report.campaigns[0].oldest_overdue_seconds = 299;  // within the limit
    judge(report, HealthLimits{});
    EXPECT_EQ(report.health, Health::Healthy);
  }
  {
    auto report = reachable_report();
    report.campaigns[0].lateness_p95_seconds = 600;
    judge(report, HealthLimits{});
    EXPECT_EQ(report.health, Health::Degraded);
  }
  {
    auto report = reachable_report();
    GeoFileStatus file;
    file.path = "/geo/asn.mmdb";
    file.database_type = "GeoLite2-ASN";
    file.built = report.checked_at - std::chrono::hours(24 * 40);
    report.geo_files.push_back(file);
    judge(report, HealthLimits{});
    EXPECT_EQ(report.health, Health::Degraded);
    EXPECT_THAT(report.problems.at(0), HasSubstr("40 days old"));
  }
  {
    auto report = reachable_report();
    FeedStatus feed;
    feed.url = "http://feed/\x1b[31mred";
    feed.consecutive_failures = 3;
    feed.last_error = "HTTP 500";
    report.feeds.push_back(feed);
    judge(report, HealthLimits{});
    EXPECT_EQ(report.health, Health::Degraded);
    EXPECT_THAT(report.problems.at(0), Not(HasSubstr("\x1b")));
    EXPECT_THAT(render_table(report), Not(HasSubstr("\x1b")));
  }
}

TEST(StatusJudge, ResolverFailingInARowSinceItsLastAnswerIsUnhealthy) {
  auto report = reachable_report();
  ResolverStatus good;
  good.resolver = "127.0.0.1:53";
  good.queries = 100;
  good.failures = 40;  // many failures, but it answered after them
  good.failures_since_answer = 2;
  good.last_answer = report.checked_at;
  ResolverStatus dead;
  dead.resolver = "127.0.0.1:9";
  dead.queries = 3;
  dead.failures = 3;
  dead.failures_since_answer = 3;
  report.resolvers = {good, dead};
  judge(report, HealthLimits{});
  EXPECT_EQ(report.health, Health::Degraded);
  EXPECT_TRUE(report.resolvers[0].healthy);
  EXPECT_FALSE(report.resolvers[1].healthy);
  ASSERT_EQ(report.problems.size(), 1U);
  EXPECT_THAT(report.problems[0], HasSubstr("resolver 127.0.0.1:9: 3 failed queries in a row"));
  EXPECT_THAT(report.problems[0], HasSubstr("no answer in the last 15 minutes"));
  EXPECT_THAT(render_table(report), HasSubstr("UNHEALTHY"));
  const auto json = nlohmann::json::parse(render_json(report));
  EXPECT_EQ(json["resolvers"][1]["healthy"], false);
  EXPECT_EQ(json["resolvers"][1]["failures_since_answer"], 3);

  // A higher limit (status --max-resolver-failures 4) lets it pass.
  auto lenient = report;
  lenient.problems.clear();
  HealthLimits limits;
  limits.max_resolver_failures = 4;
  judge(lenient, limits);
  EXPECT_EQ(lenient.health, Health::Healthy);

  // Taken out of the config: shown as such, not judged, not a problem.
  auto removed = report;
  removed.problems.clear();
  removed.configured_resolvers = std::set<std::string>{report.resolvers[0].resolver};
  judge(removed, HealthLimits{});
  EXPECT_EQ(removed.health, Health::Healthy);
  EXPECT_TRUE(removed.problems.empty());
  EXPECT_TRUE(removed.resolvers[0].configured);
  EXPECT_FALSE(removed.resolvers[1].configured);
  EXPECT_TRUE(removed.resolvers[1].healthy);
  EXPECT_THAT(render_table(removed), HasSubstr("unlisted"));
  EXPECT_EQ(nlohmann::json::parse(render_json(removed))["resolvers"][1]["configured"], false);
  // Still in the config (or no resolvers configured at all): judged as before.
  removed.configured_resolvers = std::set<std::string>{report.resolvers[1].resolver};
  judge(removed, HealthLimits{});
  EXPECT_EQ(removed.health, Health::Degraded);
  EXPECT_FALSE(removed.resolvers[1].healthy);
}

TEST(StatusRender, JsonHasTheDocumentedKeys) {
  auto report = reachable_report();
  report.campaigns[0].lateness_p50_seconds = 1.5;
  judge(report, HealthLimits{});
  const auto json = nlohmann::json::parse(render_json(report));
  EXPECT_EQ(json["status"], "healthy");
  EXPECT_EQ(json["database"]["reachable"], true);
  EXPECT_EQ(json["campaigns"][0]["name"], "c1");
  EXPECT_EQ(json["campaigns"][0]["lateness_p50_seconds"], 1.5);
  EXPECT_TRUE(json["campaigns"][0]["lateness_p95_seconds"].is_null());
  for (const char* key : {"checked_at", "watched_domains", "probes", "rate_per_second", "workers",
                          "resolvers", "geoip", "feeds", "problems"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
}

}  // namespace
}  // namespace fluxwatch::status
