// database.read_dsn against a real hot standby: a private primary (test-postgres.sh), a
// streaming replica made from it with `pg_basebackup -R`, the lab probed into the primary,
// and `score` / `report` / `explain` run by the real binary with read_dsn on the standby.
// Which server answered is proven by stopping the other one.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "support/private_postgres.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using testing::CommandResult;

/// Scalar of `sql` on `dsn` as text.
std::string scalar(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::nontransaction tx(connection);
  return tx.exec1(sql)[0].as<std::string>();
}

/// Waits (with a deadline) until the standby has replayed everything the primary has
/// written so far: the primary's current WAL position is the marker.
bool standby_caught_up(const std::string& primary, const std::string& standby) {
  const std::string marker = scalar(primary, "SELECT pg_current_wal_lsn()::text");
  return testing::wait_until(
      [&] {
        try {
          return scalar(standby, "SELECT pg_last_wal_replay_lsn() >= '" + marker + "'::pg_lsn") ==
                 "t";
        } catch (const std::exception&) {
          return false;  // still starting
        }
      },
      std::chrono::seconds(30));
}

class ReadReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto base = testing::write_lab_config("read-replica");
    plain_config_ = base;
    read_config_ = base + ".read.yaml";
    std::filesystem::copy_file(base, read_config_,
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(read_config_, std::ios::app)
        << "database:\n  read_dsn: \"" << standby_.dsn() << "\"\n";
  }
  void TearDown() override {
    std::filesystem::remove(plain_config_);
    std::filesystem::remove(read_config_);
  }

  /// fluxwatch against the primary, with read_dsn on the standby (`read`) or without.
  CommandResult fluxwatch(const std::vector<std::string>& args, bool read = true) {
    return testing::run_fluxwatch(read ? read_config_ : plain_config_, primary_.dsn(), args);
  }
  static void must(const CommandResult& result) {
    ASSERT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err;
  }

  // Sockets only (each in its own directory); the ports are from this build's range.
  testing::PrivatePostgres primary_{"replica-primary", FLUXWATCH_TEST_PG_PORT + 6};
  testing::PrivatePostgres standby_{"replica-standby", FLUXWATCH_TEST_PG_PORT + 7, primary_};
  std::string plain_config_;
  std::string read_config_;
};

TEST_F(ReadReplicaTest, ReportExplainAndScoringReadTheStandby) {
  ASSERT_EQ(scalar(standby_.dsn(), "SELECT pg_is_in_recovery()"), "t");
  ASSERT_EQ(scalar(primary_.dsn(), "SELECT pg_is_in_recovery()"), "f");

  must(fluxwatch({"init"}));
  must(fluxwatch({"watchlist", "import",
                  (testing::source_dir() / "deploy/lab/watchlist.txt").string(), "--source",
                  "lab"}));
  must(fluxwatch({"probe", "--rounds", "2", "--types", "A,NS", "--progress", "never"}));
  ASSERT_TRUE(standby_caught_up(primary_.dsn(), standby_.dsn()));

  // A standby refuses writes: the schema and probes came by replication only.
  const auto probes = scalar(primary_.dsn(), "SELECT count(*) FROM probes");
  ASSERT_NE(probes, "0");
  EXPECT_EQ(scalar(standby_.dsn(), "SELECT count(*) FROM probes"), probes);

  // `score` reads the standby and writes the run to the primary.
  must(fluxwatch({"score"}));
  EXPECT_EQ(scalar(primary_.dsn(), "SELECT count(*) FROM score_runs"), "1");
  EXPECT_EQ(scalar(primary_.dsn(), "SELECT count(*) FROM domain_scores"),
            scalar(primary_.dsn(), "SELECT count(*) FROM watchlist"));
  ASSERT_TRUE(standby_caught_up(primary_.dsn(), standby_.dsn()));

  // What the primary says, for comparison.
  const auto report = fluxwatch({"report", "--scores", "--format", "csv"}, false);
  must(report);
  const auto explain = fluxwatch({"explain", "flux-alpha.test", "--format", "json"}, false);
  must(explain);
  ASSERT_NE(report.out.find("flux-alpha.test"), std::string::npos) << report.out;

  // Standby down, primary up: every read-only command fails, so none read the primary.
  standby_.stop();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"report"}, {"explain", "flux-alpha.test"}, {"score"}}) {
    const auto result = fluxwatch(args);
    EXPECT_NE(result.exit_code, 0) << args[0] << ": " << result.out;
    EXPECT_NE(result.err.find("cannot connect to PostgreSQL"), std::string::npos)
        << args[0] << ": " << result.err;
  }
  EXPECT_EQ(scalar(primary_.dsn(), "SELECT count(*) FROM score_runs"), "1");  // none added
  standby_.start();

  // Primary down, standby up: the same answers, from the standby alone.
  primary_.stop();
  const auto standby_report = fluxwatch({"report", "--scores", "--format", "csv"});
  must(standby_report);
  EXPECT_EQ(standby_report.out, report.out);
  const auto standby_explain = fluxwatch({"explain", "flux-alpha.test", "--format", "json"});
  must(standby_explain);
  EXPECT_EQ(standby_explain.out, explain.out);
  // Re-scored over a window (not stored): scoring's reads on the standby too.
  must(fluxwatch({"explain", "flux-alpha.test", "--since", "7d"}));
  primary_.start();  // the destructors stop both
}

}  // namespace
}  // namespace fluxwatch
