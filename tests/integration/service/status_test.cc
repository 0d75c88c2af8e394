// `fluxwatch status` against a real PostgreSQL after a real `run --once` on the lab: the
// figures it prints equal the stored rows, and its exit status follows the service's
// health (healthy 0, degraded 3 with the reason, down 1), as a monitoring check uses it.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "support/test_env.h"

namespace fluxwatch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class StatusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = new testing::ScratchDatabase();
    config_path_ = new std::string(testing::write_lab_config("status"));
    must(fluxwatch({"init"}));
    must(fluxwatch(
        {"watchlist", "import", (testing::source_dir() / "deploy/lab/watchlist.txt").string()}));
    must(fluxwatch({"run", "--once", "--progress", "never"}));
  }
  static void TearDownTestSuite() {
    delete database_;
    delete config_path_;
  }
  static testing::CommandResult fluxwatch(const std::vector<std::string>& args) {
    return testing::run_fluxwatch(*config_path_, database_->dsn(), args);
  }
  static void must(const testing::CommandResult& result) {
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  }
  static long long count(const std::string& sql) {
    pqxx::connection connection(database_->dsn());
    pqxx::nontransaction tx(connection);
    return tx.exec(sql)[0][0].as<long long>();
  }
  static void exec(const std::string& sql) {
    pqxx::connection connection(database_->dsn());
    pqxx::nontransaction tx(connection);
    tx.exec(sql);
  }
  static inline testing::ScratchDatabase* database_ = nullptr;
  static inline std::string* config_path_ = nullptr;
};

TEST_F(StatusTest, JsonFiguresEqualTheStoredRowsAndTheServiceIsHealthy) {
  // The lab's MMDBs were built on 2024-01-01: only a generous age limit calls them fresh.
  const auto result = fluxwatch({"status", "--format", "json", "--max-geoip-age", "3650"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["status"], "healthy");
  EXPECT_TRUE(json["database"]["reachable"].get<bool>());
  EXPECT_GE(json["database"]["schema_version"].get<int>(), 8);
  EXPECT_EQ(json["watched_domains"].get<long long>(), count("SELECT count(*) FROM watchlist"));
  const long long probes = count("SELECT count(*) FROM probes");
  ASSERT_GT(probes, 0);
  EXPECT_EQ(json["probes"]["today"].get<long long>(),
            count("SELECT count(*) FROM probes WHERE sent_at >= "
                  "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"));
  EXPECT_EQ(json["probes"]["total_estimate"].get<long long>(), probes);  // small: counted
  ASSERT_EQ(json["campaigns"].size(), 1U);
  const auto& campaign = json["campaigns"][0];
  EXPECT_EQ(campaign["name"], "default");
  EXPECT_EQ(campaign["domains"].get<long long>(), count("SELECT count(*) FROM watchlist"));
  EXPECT_EQ(campaign["backlog"].get<long long>(), 0);
  EXPECT_FALSE(campaign["last_probe"].is_null());
  EXPECT_FALSE(campaign["lateness_p95_seconds"].is_null());
  // The lab's GeoIP files are configured: both are read and have a build time.
  ASSERT_EQ(json["geoip"]["files"].size(), 2U);
  EXPECT_FALSE(json["geoip"]["files"][0]["built"].is_null());
  EXPECT_GE(json["rate_per_second"]["15m"].get<double>(), static_cast<double>(probes) / 900.0);
}

TEST_F(StatusTest, TableNamesTheDatabaseAndTheCampaign) {
  const auto result = fluxwatch({"status", "--max-geoip-age", "3650"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("status:    healthy"));
  EXPECT_THAT(result.out, HasSubstr(database_->name()));  // the DSN given, not a cluster
  EXPECT_THAT(result.out, HasSubstr("default"));
}

TEST_F(StatusTest, StaleGeoipMakesItDegraded) {
  const auto result = fluxwatch({"status"});  // default limit: 35 days
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("lab-ASN.mmdb is "));
  EXPECT_THAT(result.out, HasSubstr("days old (`fluxwatch geo update`)"));
}

TEST_F(StatusTest, OverdueDomainsNobodyProbesMakeItDegraded) {
  exec(
      "UPDATE schedule SET next_due = now() - interval '1 hour' WHERE domain_id = "
      "(SELECT min(domain_id) FROM schedule)");
  const auto result = fluxwatch({"status", "--format", "json", "--max-geoip-age", "3650"});
  exec("UPDATE schedule SET next_due = now() + interval '1 hour'");
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["status"], "degraded");
  EXPECT_EQ(json["campaigns"][0]["backlog"].get<long long>(), 1);
  ASSERT_FALSE(json["problems"].empty());
  EXPECT_THAT(json["problems"][0].get<std::string>(), HasSubstr("campaign default"));
}

TEST_F(StatusTest, FailingFeedWithEscapesIsDegradedAndCannotDriveTheTerminal) {
  exec(
      "INSERT INTO feeds (url, url_digest, consecutive_failures, last_error) VALUES "
      "('http://127.0.0.1:9/feed', 'test-digest', 5, E'boom\\x1b[2Jcleared')");
  const auto result = fluxwatch({"status", "--max-geoip-age", "3650"});
  exec("DELETE FROM feeds");
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("5 failed fetches in a row"));
  EXPECT_THAT(result.out, Not(HasSubstr("\x1b[2J")));
  EXPECT_THAT(result.out, HasSubstr("\\x1b[2J"));
}

TEST_F(StatusTest, UnreachableDatabaseIsDownAndThePasswordIsNotShown) {
  const auto result = testing::run_fluxwatch(
      *config_path_, "host=/nonexistent-fluxwatch-socket port=1 password=s3cret-pw",
      {"status", "--format", "json"});
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["status"], "down");
  EXPECT_FALSE(json["database"]["reachable"].get<bool>());
  EXPECT_THAT(result.out, Not(HasSubstr("s3cret-pw")));
  EXPECT_THAT(json["database"]["dsn"].get<std::string>(), HasSubstr("password=***"));
}

// Issue 16.1: a dead resolver beside a live one, in `run`'s configuration. `run --once` (as
// the daemon) stores every failed query and logs the resolver as unhealthy; `status` reads
// the stored results back and names it. Its own database: the failures would make the
// other cases degraded.
TEST(StatusResolverTest, DeadResolverOfRunIsShownAndMakesItDegraded) {
  const testing::ScratchDatabase database;
  const auto live = testing::lab_server().to_string();
  const auto dead = testing::lab_blackhole().to_string();
  const auto lab_config = testing::write_lab_config("status-resolvers");
  std::string config_text;
  {
    std::ifstream in(lab_config);
    std::getline(in, config_text, '\0');
  }
  // The lab config with both resolvers and a short timeout.
  const auto resolvers_line = config_text.find("resolvers:");
  ASSERT_NE(resolvers_line, std::string::npos);
  config_text.replace(resolvers_line, config_text.find('\n', resolvers_line) - resolvers_line,
                      fmt::format("resolvers: [\"{}\", \"{}\"]", live, dead));
  config_text.replace(config_text.find("timeout_ms: 1500"), 16, "timeout_ms: 200");
  config_text.replace(config_text.find("tries: 2"), 8, "tries: 1");
  std::ofstream(lab_config, std::ios::trunc) << config_text;
  auto fluxwatch = [&](const std::vector<std::string>& args) {
    return testing::run_fluxwatch(lab_config, database.dsn(), args);
  };
  ASSERT_EQ(fluxwatch({"init"}).exit_code, 0);
  ASSERT_EQ(fluxwatch({"watchlist", "import",
                       (testing::source_dir() / "deploy/lab/watchlist.txt").string()})
                .exit_code,
            0);
  const auto run = fluxwatch({"run", "--once", "--progress", "never"});
  ASSERT_LE(run.exit_code, 3) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("resolver " + dead +
                                 ": 3 failed queries in a row; marked "
                                 "unhealthy"));  // run's log (17.6)

  const auto result = fluxwatch({"status", "--format", "json", "--max-geoip-age", "3650"});
  EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["status"], "degraded");
  pqxx::connection connection(database.dsn());
  pqxx::nontransaction tx(connection);
  ASSERT_EQ(json["resolvers"].size(), 2U) << result.out;
  for (const auto& resolver : json["resolvers"]) {
    const auto name = resolver["resolver"].get<std::string>();
    const auto stored = tx.exec_params(
        "SELECT count(*), count(*) FILTER (WHERE outcome = 'TIMEOUT') FROM probes "
        "WHERE resolver = $1",
        name)[0];
    EXPECT_EQ(resolver["queries_15m"].get<long long>(), stored[0].as<long long>()) << name;
    EXPECT_EQ(resolver["failures_15m"].get<long long>(), stored[1].as<long long>()) << name;
    if (name == dead) {
      EXPECT_FALSE(resolver["healthy"].get<bool>());
      EXPECT_GE(resolver["failures_since_answer"].get<long long>(), 3);
      EXPECT_EQ(resolver["failures_since_answer"], resolver["queries_15m"]);
      EXPECT_TRUE(resolver["last_answer"].is_null());
    } else {
      EXPECT_EQ(name, live);
      EXPECT_TRUE(resolver["healthy"].get<bool>());
      EXPECT_EQ(resolver["failures_15m"].get<long long>(), 0);
      EXPECT_FALSE(resolver["last_answer"].is_null());
    }
  }
  bool named = false;
  for (const auto& problem : json["problems"]) {
    named = named || problem.get<std::string>().find("resolver " + dead + ":") == 0;
  }
  EXPECT_TRUE(named) << result.out;

  const auto table = fluxwatch({"status", "--max-geoip-age", "3650"});
  EXPECT_EQ(table.exit_code, 3);
  const auto row = table.out.find("\n" + dead + " ");
  ASSERT_NE(row, std::string::npos) << table.out;
  const auto row_text = table.out.substr(row + 1, table.out.find('\n', row + 1) - row - 1);
  EXPECT_THAT(row_text, HasSubstr("UNHEALTHY")) << table.out;
  // A limit above what it failed lets it pass: the verdict comes from the rule.
  const long long in_a_row =
      json["resolvers"][json["resolvers"][0]["resolver"] == dead ? 0 : 1]["failures_since_answer"]
          .get<long long>();
  const auto lenient = fluxwatch({"status", "--max-geoip-age", "3650", "--max-resolver-failures",
                                  std::to_string(in_a_row + 1)});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;

  // The dead resolver taken out of the config: its stored failures are still shown (the last
  // 15 minutes), marked as no longer configured, and no longer make the status degraded.
  {
    std::string only_live = config_text;
    only_live.replace(
        only_live.find("resolvers: ["),
        only_live.find('\n', only_live.find("resolvers: [")) - only_live.find("resolvers: ["),
        fmt::format("resolvers: [\"{}\"]", live));
    std::ofstream(lab_config, std::ios::trunc) << only_live;
  }
  const auto removed = fluxwatch({"status", "--format", "json", "--max-geoip-age", "3650"});
  EXPECT_EQ(removed.exit_code, 0) << removed.out << removed.err;
  const auto after = nlohmann::json::parse(removed.out);
  EXPECT_EQ(after["status"], "healthy") << removed.out;
  ASSERT_EQ(after["resolvers"].size(), 2U) << removed.out;
  for (const auto& resolver : after["resolvers"]) {
    const bool is_dead = resolver["resolver"] == dead;
    EXPECT_EQ(resolver["configured"].get<bool>(), !is_dead) << removed.out;
    EXPECT_TRUE(resolver["healthy"].get<bool>()) << removed.out;
    if (is_dead) {
      EXPECT_GE(resolver["failures_since_answer"].get<long long>(), 3);  // still shown
    }
  }
  const auto removed_table = fluxwatch({"status", "--max-geoip-age", "3650"});
  EXPECT_EQ(removed_table.exit_code, 0) << removed_table.out;
  const auto removed_row = removed_table.out.find("\n" + dead + " ");
  ASSERT_NE(removed_row, std::string::npos) << removed_table.out;
  EXPECT_THAT(removed_table.out.substr(
                  removed_row + 1, removed_table.out.find('\n', removed_row + 1) - removed_row - 1),
              HasSubstr("unlisted"));
}

}  // namespace
}  // namespace fluxwatch
