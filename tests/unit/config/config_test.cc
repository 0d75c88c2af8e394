#include "fluxwatch/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fluxwatch/common/error.h"

namespace fluxwatch::config {
namespace {

using ::testing::HasSubstr;

std::string error_of(std::string_view yaml) {
  try {
    (void)parse_config(yaml, "test.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return {};
}

TEST(Config, EmptyFileGivesDocumentedDefaults) {
  const auto config = parse_config("", "empty.yaml");
  EXPECT_EQ(config.probe.concurrency, 2000U);
  EXPECT_EQ(config.probe.timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(config.probe.tries, 2);
  EXPECT_EQ(config.probe.record_types, (std::vector<RrType>{RrType::A, RrType::AAAA, RrType::NS}));
  EXPECT_TRUE(config.resolvers.empty());
  EXPECT_TRUE(config.database.dsn.empty());
  EXPECT_FALSE(config.state_dir.empty());
}

TEST(Config, ReadsEverySetting) {
  const auto config = parse_config(R"(
state_dir: /tmp/fw-state
database:
  dsn: "host=/tmp dbname=x"
resolvers: ["127.0.0.1:5300", "[::1]:53", 10.0.0.1]
probe:
  record_types: [a, NS, NS]
  concurrency: 500
  timeout_ms: 750
  tries: 3
  recursion: false
  edns: false
  edns_udp_size: 4096
  socket_buffer_bytes: 1048576
  batch_size: 100
geoip:
  asn_database: /x/asn.mmdb
  city_database: /x/city.mmdb
  cache_entries: 10
log:
  level: debug
)",
                                   "full.yaml");
  EXPECT_EQ(config.state_dir, "/tmp/fw-state");
  EXPECT_EQ(config.database.dsn, "host=/tmp dbname=x");
  ASSERT_EQ(config.resolvers.size(), 3U);
  EXPECT_EQ(config.resolvers[0], (Endpoint{"127.0.0.1", 5300}));
  EXPECT_EQ(config.resolvers[1], (Endpoint{"::1", 53}));
  EXPECT_EQ(config.resolvers[2], (Endpoint{"10.0.0.1", 53}));
  EXPECT_EQ(config.probe.record_types, (std::vector<RrType>{RrType::A, RrType::NS}));
  EXPECT_EQ(config.probe.concurrency, 500U);
  EXPECT_EQ(config.probe.timeout, std::chrono::milliseconds(750));
  EXPECT_EQ(config.probe.tries, 3);
  EXPECT_FALSE(config.probe.recursion);
  EXPECT_FALSE(config.probe.edns);
  EXPECT_EQ(config.probe.edns_udp_size, 4096);
  EXPECT_EQ(config.probe.socket_buffer_bytes, 1 << 20);
  EXPECT_EQ(config.probe.batch_size, 100U);
  EXPECT_EQ(config.geoip.asn_database, "/x/asn.mmdb");
  EXPECT_EQ(config.geoip.city_database, "/x/city.mmdb");
  EXPECT_EQ(config.geoip.cache_entries, 10U);
  EXPECT_EQ(config.log.level, "debug");
}

TEST(Config, UnknownKeysAreRejectedWithLineAndPath) {
  const auto message = error_of("probe:\n  concurrency: 10\n  timout_ms: 5\n");
  EXPECT_THAT(message, HasSubstr("test.yaml:3: probe.timout_ms: unknown setting"));
  EXPECT_THAT(message, HasSubstr("timeout_ms"));  // lists what is known there
  EXPECT_THAT(error_of("colour: red\n"), HasSubstr("test.yaml:1: colour: unknown setting"));
}

TEST(Config, BadValuesAreRejectedWithLineAndPath) {
  EXPECT_THAT(error_of("probe:\n  concurrency: lots\n"),
              HasSubstr("test.yaml:2: probe.concurrency: 'lots' is not a whole number"));
  EXPECT_THAT(error_of("probe:\n  concurrency: 0\n"),
              HasSubstr("probe.concurrency: 0 is out of range"));
  EXPECT_THAT(error_of("\nresolvers: [\"127.0.0.1:99999\"]\n"),
              HasSubstr("test.yaml:2: resolvers: '127.0.0.1:99999' is not ip[:port]"));
  EXPECT_THAT(error_of("probe:\n  record_types: [A, MXX]\n"),
              HasSubstr("probe.record_types: unknown record type 'MXX'"));
  EXPECT_THAT(error_of("probe:\n  record_types: []\n"), HasSubstr("non-empty list"));
  EXPECT_THAT(error_of("probe:\n  edns: maybe\n"),
              HasSubstr("probe.edns: 'maybe' is not true or false"));
  EXPECT_THAT(error_of("log:\n  level: loud\n"), HasSubstr("log.level: 'loud' is not one of"));
  EXPECT_THAT(error_of("probe: 5\n"), HasSubstr("probe: expected a mapping"));
  EXPECT_THAT(error_of("probe: [\n"), HasSubstr("not valid YAML"));
}

TEST(Config, DuplicateKeysAreRejectedWithBothLines) {
  EXPECT_THAT(error_of("probe:\n  concurrency: 10\n  timeout_ms: 900\n  concurrency: 20\n"),
              HasSubstr("test.yaml:4: probe.concurrency: given twice (lines 2 and 4)"));
  EXPECT_THAT(error_of("log:\n  level: info\nprobe: {}\nlog:\n  level: warn\n"),
              HasSubstr("test.yaml:4: log: given twice (lines 1 and 4)"));
  // The same key in two different mappings is not a duplicate.
  EXPECT_NO_THROW(
      parse_config("probe:\n  concurrency: 10\nhttp_probe:\n  concurrency: 10\n", "test.yaml"));
}

TEST(Config, YamlRoundTrip) {
  auto config = parse_config("resolvers: [127.0.0.1:5300]\nprobe:\n  tries: 4\n", "a.yaml");
  const auto again = parse_config(to_yaml(config), "b.yaml");
  EXPECT_EQ(again.resolvers, config.resolvers);
  EXPECT_EQ(again.probe.tries, 4);
  EXPECT_EQ(again.state_dir, config.state_dir);
}

// Every record type ldns knows is a valid record_types entry (issue 16).
TEST(Config, RecordTypesTakeEveryType) {
  const auto config =
      parse_config("probe:\n  record_types: [A, MX, txt, CAA, TYPE65280]\n", "a.yaml");
  ASSERT_EQ(config.probe.record_types.size(), 5U);
  EXPECT_EQ(static_cast<int>(config.probe.record_types[1]), 15);
  EXPECT_EQ(static_cast<int>(config.probe.record_types[4]), 65280);
  EXPECT_THAT(to_yaml(config), HasSubstr("record_types: [A, MX, TXT, CAA, TYPE65280]"));
}

// `fluxwatch config` shows numbers as written and no DSN password (issue 16).
TEST(Config, YamlShowsShortNumbersAndNoDsnPassword) {
  auto config = parse_config(
      "database:\n  dsn: \"host=db user=fw password=s3cret dbname=x\"\nscoring:\n"
      "  flux_min_change_ratio: 0.3\n",
      "a.yaml");
  const auto yaml = to_yaml(config);
  EXPECT_THAT(yaml, HasSubstr("flux_min_change_ratio: 0.3\n"));
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("0.29999")));
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("s3cret")));
  EXPECT_THAT(yaml, HasSubstr("password=(redacted)"));
}

TEST(Config, RedactDsn) {
  EXPECT_EQ(redact_dsn("host=db password=s3cret dbname=x"), "host=db password=(redacted) dbname=x");
  EXPECT_EQ(redact_dsn("host=db password = 'a b\\' c' port=5"),
            "host=db password = (redacted) port=5");
  EXPECT_EQ(redact_dsn("postgresql://fw:s3cret@db:5432/x"), "postgresql://fw:(redacted)@db:5432/x");
  EXPECT_EQ(redact_dsn("postgres://db/x?user=fw&password=s3cret&sslmode=require"),
            "postgres://db/x?user=fw&password=(redacted)&sslmode=require");
  EXPECT_EQ(redact_dsn("postgresql://fw@db/x"), "postgresql://fw@db/x");
  EXPECT_EQ(redact_dsn("host=/tmp dbname=x"), "host=/tmp dbname=x");
}

TEST(Config, JsonDoesNotLeakTheDsn) {
  auto config = parse_config("database:\n  dsn: \"password=secret\"\n", "a.yaml");
  EXPECT_THAT(to_json(config), ::testing::Not(HasSubstr("secret")));
}

TEST(Config, ServeAndReadDsnReadBackAndStayOutOfJson) {
  const auto defaults = parse_config("", "a.yaml");
  EXPECT_EQ(defaults.serve.listen, "127.0.0.1:8080");
  EXPECT_TRUE(defaults.serve.token.empty());
  EXPECT_TRUE(defaults.database.read_dsn.empty());
  auto config = parse_config(
      "database:\n  read_dsn: \"host=standby password=pw\"\nserve:\n  listen: \"[::1]:9090\"\n"
      "  token: t0ken\n",
      "a.yaml");
  EXPECT_EQ(config.database.read_dsn, "host=standby password=pw");
  EXPECT_EQ(config.serve.listen, "[::1]:9090");
  EXPECT_EQ(config.serve.token, "t0ken");
  const auto again = parse_config(to_yaml(config), "b.yaml");
  EXPECT_EQ(again.serve.listen, config.serve.listen);
  // `config` shows secrets redacted: the token as "(set)", the DSN without its password.
  EXPECT_EQ(again.serve.token, "(set)");
  EXPECT_EQ(again.database.read_dsn, "host=standby password=(redacted)");
  EXPECT_THAT(to_yaml(config), ::testing::Not(HasSubstr("t0ken")));
  EXPECT_THAT(to_json(config), ::testing::Not(HasSubstr("t0ken")));
  EXPECT_THAT(to_json(config), ::testing::Not(HasSubstr("standby")));
  EXPECT_THAT(error_of("serve:\n  listen: [1, 2]\n"), HasSubstr("serve.listen"));
}

// Every row of the settings table reads back what `fluxwatch config` shows for it.
TEST(Config, WhatConfigShowsReadsBackToTheSameSettings) {
  const auto config = parse_config(R"(
resolvers: [127.0.0.1:5300]
probe: {record_types: [MX, A], timeout_ms: 750, stall_ms: 0, edns: false}
storage: {retention_days: 30}
feeds:
  - {url: "https://feeds.example/list.csv", format: csv, field: host, refresh_minutes: 30}
fetch: {max_feed_bytes: 1000, verify_tls: false}
http_probe: {rate_per_second: 2.5, per_address_interval_ms: 0}
scoring: {window_hours: 48, flux_min_change_ratio: 0.3, holz: {bias: -1.5}}
campaigns:
  - {name: a, tags: [x], min_interval: 0.5, start: "2026-11-22T10:00:00Z", mode: authoritative}
  - {name: b, record_types: [NS], resolver_mode: every, qps: 12.5}
scheduler: {lease_seconds: 90, flush_ms: 250}
log: {level: debug, format: json}
metrics: {listen: "127.0.0.1:9109"}
)",
                                   "every.yaml");
  const auto shown = to_yaml(config);
  const auto again = parse_config(shown, "shown.yaml");
  EXPECT_EQ(to_yaml(again), shown);
  EXPECT_EQ(again.feeds, config.feeds);
  EXPECT_EQ(again.feeds[0].column, "host");
  EXPECT_EQ(again.probe.stall_after, std::chrono::milliseconds(0));
  EXPECT_EQ(again.scheduler.lease, std::chrono::seconds(90));
  EXPECT_EQ(again.campaigns[0].min_interval, std::chrono::milliseconds(500));
  EXPECT_TRUE(again.campaigns[0].authoritative);
  EXPECT_TRUE(again.campaigns[1].record_types == std::vector<RrType>{RrType::NS});
  EXPECT_TRUE(again.campaigns[0].record_types.empty());  // not given: probe.record_types
  EXPECT_DOUBLE_EQ(again.scoring.holz.bias, -1.5);
  EXPECT_EQ(again.scoring.thresholds.flux_min_change_ratio, 0.3);
  EXPECT_EQ(again.http_probe.rate_per_second, 2.5);
}

TEST(Config, RunRecordHoldsWhatShapesAMeasurementAndNoSecret) {
  const auto config = parse_config(
      "database: {dsn: \"password=pw1\", read_dsn: \"password=pw2\"}\nserve: {token: tk3}\n"
      "geoip: {update: {license_key: lk4}}\nprobe: {socket_buffer_bytes: 65536}\n",
      "a.yaml");
  const auto record = nlohmann::json::parse(to_json(config));
  EXPECT_EQ(record["database"]["dsn_configured"], true);
  EXPECT_EQ(record["probe"]["socket_buffer_bytes"], 65536);
  EXPECT_EQ(record["probe"]["record_types"], nlohmann::json::parse(R"(["A","AAAA","NS"])"));
  EXPECT_EQ(record["http_probe"]["enabled"], false);
  for (const char* secret : {"pw1", "pw2", "tk3", "lk4"}) {
    EXPECT_THAT(record.dump(), ::testing::Not(HasSubstr(secret)));
  }
  const auto scoring = nlohmann::json::parse(section_json(config, "scoring"));
  EXPECT_EQ(scoring["min_lookups"], 3);
  EXPECT_EQ(scoring["holz"]["bias"], 142.38);
  EXPECT_EQ(nlohmann::json::parse(to_json(config::Campaign{}))["mode"], "recursive");
}

TEST(Config, FlagRangesAreTheKeysRanges) {
  EXPECT_EQ(integer_range("probe.concurrency").low, 1);
  EXPECT_EQ(integer_range("probe.concurrency").high, 100000);
  EXPECT_EQ(integer_range("probe.timeout_ms").low, 10);
  EXPECT_THROW((void)integer_range("probe.record_types"), std::out_of_range);
  EXPECT_THROW((void)integer_range("probe.nothing"), std::out_of_range);
}

}  // namespace
}  // namespace fluxwatch::config
