// `campaigns:` and `scheduler.*` in the YAML config: values, defaults and errors with lines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fluxwatch/common/error.h"
#include "fluxwatch/config/config.h"

namespace fluxwatch::config {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

std::string error_of(const std::string& yaml) {
  try {
    (void)parse_config(yaml, "cfg.yaml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no error";
}

TEST(CampaignConfig, ParsesEveryKey) {
  const auto config = parse_config(
      "campaigns:\n"
      "  - name: flux-watch\n"
      "    tags: [flux, double_flux]\n"
      "    sources: [lab]\n"
      "    record_types: [A, NS]\n"
      "    resolvers: [\"127.0.0.1:5300\"]\n"
      "    base_interval: 120\n"
      "    min_interval: 1.5\n"
      "    max_interval: 3600\n"
      "    jitter: 0.1\n"
      "    start: 2026-01-01T00:00:00Z\n"
      "    end: 2026-02-01T00:00:00Z\n"
      "    vantage: eu-1\n"
      "    qps: 200\n"
      "    qps_per_resolver: 50\n"
      "scheduler:\n  lease_seconds: 5\n  lease_batch: 20\n  flush_ms: 100\n",
      "cfg.yaml");
  ASSERT_EQ(config.campaigns.size(), 1U);
  const Campaign& c = config.campaigns[0];
  EXPECT_EQ(c.name, "flux-watch");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"flux", "double_flux"}));
  EXPECT_EQ(c.sources, (std::vector<std::string>{"lab"}));
  EXPECT_EQ(c.record_types, (std::vector<RrType>{RrType::A, RrType::NS}));
  ASSERT_EQ(c.resolvers.size(), 1U);
  EXPECT_EQ(c.resolvers[0].to_string(), "127.0.0.1:5300");
  EXPECT_EQ(c.base_interval, milliseconds(120000));
  EXPECT_EQ(c.min_interval, milliseconds(1500));
  EXPECT_EQ(c.max_interval, milliseconds(3600000));
  EXPECT_DOUBLE_EQ(c.jitter, 0.1);
  ASSERT_TRUE(c.start.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*c.start), 1767225600);
  ASSERT_TRUE(c.end.has_value());
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*c.end), 1769904000);
  EXPECT_EQ(c.vantage, "eu-1");
  EXPECT_DOUBLE_EQ(c.qps, 200);
  EXPECT_DOUBLE_EQ(c.qps_per_resolver, 50);
  EXPECT_EQ(config.scheduler.lease, milliseconds(5000));
  EXPECT_EQ(config.scheduler.lease_batch, 20U);
  EXPECT_EQ(config.scheduler.flush_interval, milliseconds(100));
  // Round trip through `fluxwatch config` output.
  const auto again = parse_config(to_yaml(config), "again.yaml");
  ASSERT_EQ(again.campaigns.size(), 1U);
  EXPECT_EQ(again.campaigns[0].min_interval, milliseconds(1500));
  EXPECT_EQ(again.campaigns[0].end, c.end);
}

TEST(CampaignConfig, DefaultsWhenOnlyANameIsGiven) {
  const auto config = parse_config("campaigns:\n  - name: all\n", "cfg.yaml");
  ASSERT_EQ(config.campaigns.size(), 1U);
  EXPECT_TRUE(config.campaigns[0].tags.empty());
  EXPECT_EQ(config.campaigns[0].min_interval, std::chrono::minutes(1));
  EXPECT_EQ(config.campaigns[0].max_interval, std::chrono::hours(24));
  EXPECT_DOUBLE_EQ(config.campaigns[0].qps, 0);
  EXPECT_TRUE(parse_config("", "cfg.yaml").campaigns.empty());
  // `fluxwatch config show` of such a campaign reads back (no `record_types: []`).
  const auto again = parse_config(to_yaml(config), "again.yaml");
  ASSERT_EQ(again.campaigns.size(), 1U);
  EXPECT_TRUE(again.campaigns[0].record_types.empty());
  EXPECT_EQ(again.campaigns[0].name, "all");
}

TEST(CampaignConfig, UnknownKeyIsReportedWithItsLine) {
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    max_intervall: 5\n"),
              HasSubstr("cfg.yaml:3: campaigns.max_intervall: unknown setting (known here: name"));
  EXPECT_THAT(error_of("scheduler:\n  leases: 3\n"),
              HasSubstr("cfg.yaml:2: scheduler.leases: unknown setting"));
}

TEST(CampaignConfig, BadValuesAreReportedWithTheirLine) {
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    qps: fast\n"),
              HasSubstr("cfg.yaml:3: campaigns.qps: 'fast' is not a number"));
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    record_types: [MXX]\n"),
              HasSubstr("cfg.yaml:3: campaigns.record_types: unknown record type 'MXX'"));
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    start: tomorrow\n"),
              HasSubstr("cfg.yaml:3: campaigns.start: 'tomorrow' is not a UTC time"));
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    min_interval: 60\n    max_interval: 10\n"),
              HasSubstr("min_interval (60 s) is above max_interval (10 s)"));
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n  - name: a\n"),
              HasSubstr("cfg.yaml:3: campaigns.name: campaign 'a' is defined twice"));
  EXPECT_THAT(error_of("campaigns:\n  - tags: [x]\n"), HasSubstr("a campaign needs a name"));
  EXPECT_THAT(error_of("campaigns:\n  - name: 'a b'\n"), HasSubstr("expected 1-100 letters"));
  EXPECT_THAT(error_of("campaigns: {name: a}\n"), HasSubstr("expected a list of campaigns"));
}

}  // namespace
}  // namespace fluxwatch::config

namespace fluxwatch::config {
namespace {

TEST(CampaignConfig, ModeAndResolverMode) {
  const auto config = parse_config(
      "probe:\n  authoritative_port: 5300\n  authoritative_max_servers: 4\n"
      "campaigns:\n"
      "  - name: auth\n    mode: authoritative\n"
      "  - name: snap\n    resolver_mode: every\n    resolvers: [\"127.0.0.1:5300\", "
      "\"[::1]:5300\"]\n"
      "  - name: plain\n",
      "cfg.yaml");
  EXPECT_EQ(config.probe.authoritative_port, 5300);
  EXPECT_EQ(config.probe.authoritative_max_servers, 4U);
  ASSERT_EQ(config.campaigns.size(), 3U);
  EXPECT_TRUE(config.campaigns[0].authoritative);
  EXPECT_FALSE(config.campaigns[0].every_resolver);
  EXPECT_FALSE(config.campaigns[1].authoritative);
  EXPECT_TRUE(config.campaigns[1].every_resolver);
  ASSERT_EQ(config.campaigns[1].resolvers.size(), 2U);
  EXPECT_EQ(config.campaigns[1].resolvers[1].ip, "::1");
  EXPECT_EQ(config.campaigns[1].resolvers[1].port, 5300);
  EXPECT_FALSE(config.campaigns[2].authoritative);  // defaults: recursive, spread
  EXPECT_FALSE(config.campaigns[2].every_resolver);
  EXPECT_EQ(default_config().probe.authoritative_port, 53);
  // `config show` prints them.
  const std::string shown = to_yaml(config);
  EXPECT_THAT(shown, HasSubstr("mode: authoritative"));
  EXPECT_THAT(shown, HasSubstr("resolver_mode: every"));
  EXPECT_THAT(shown, HasSubstr("authoritative_port: 5300"));
}

TEST(CampaignConfig, BadModesNameFileLineAndKey) {
  EXPECT_THAT(
      error_of("campaigns:\n  - name: a\n    mode: iterative\n"),
      HasSubstr("cfg.yaml:3: campaigns.mode: 'iterative' is not recursive or authoritative"));
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    resolver_mode: all\n"),
              HasSubstr("cfg.yaml:3: campaigns.resolver_mode: 'all' is not spread or every"));
  EXPECT_THAT(error_of("campaigns:\n  - name: a\n    mode: [authoritative]\n"),
              HasSubstr("cfg.yaml:3: campaigns.mode"));
  EXPECT_THAT(error_of("probe:\n  authoritative_port: 0\n"),
              HasSubstr("cfg.yaml:2: probe.authoritative_port: 0 is out of range"));
  EXPECT_THAT(error_of("probe:\n  authoritative_port: 70000\n"),
              HasSubstr("cfg.yaml:2: probe.authoritative_port"));
  EXPECT_THAT(error_of("probe:\n  authoritative_max_servers: 0\n"),
              HasSubstr("cfg.yaml:2: probe.authoritative_max_servers"));
}

}  // namespace
}  // namespace fluxwatch::config
