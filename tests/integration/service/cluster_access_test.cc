// fluxwatch's own PostgreSQL, shared with a colleague and stopped on purpose, through the
// real executable: `db grant-reader` lets a local Unix user read (and only read) by peer
// authentication, and locks out everyone else who reaches the socket; `db stop` refuses
// while sessions are connected and stays stopped until `db start`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <pqxx/pqxx>
#include <random>

#include "support/test_env.h"

namespace fluxwatch {
namespace {

using ::testing::HasSubstr;

class ClusterAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || getpwnam("nobody") == nullptr) {
      GTEST_SKIP() << "needs root (runuser) and the user nobody";
    }
    std::random_device random;
    state_ = std::filesystem::path(FLUXWATCH_SERVICE_TEST_TMP) /
             ("ca-" + std::to_string(random() % 100000000));
    std::filesystem::create_directories(state_);
  }
  void TearDown() override {
    if (!state_.empty()) {
      (void)fluxwatch({"db", "stop", "--force"});
      std::filesystem::remove_all(state_);
    }
  }
  /// fluxwatch with its own cluster under state_ (no --dsn, no PG* variables).
  testing::CommandResult fluxwatch(const std::vector<std::string>& args,
                                   const std::string& input = {}) const {
    std::vector<std::string> argv{"/usr/bin/env",     "-u",
                                  "PGHOST",           "-u",
                                  "PGDATABASE",       "-u",
                                  "PGPORT",           "-u",
                                  "FLUXWATCH_CONFIG", testing::fluxwatch_binary().string(),
                                  "--state-dir",      state_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv, input);
  }
  std::string dsn(const std::string& user) const {
    return "host=" + (state_ / "postgres").string() + " port=5432 dbname=fluxwatch user=" + user;
  }
  /// psql as the Unix user nobody.
  testing::CommandResult psql_as_nobody(const std::string& user, const std::string& sql) const {
    return testing::run_command({"/usr/bin/env", "runuser", "-u", "nobody", "--", "psql", "-X",
                                 "-At", dsn(user), "-c", sql});
  }
  std::filesystem::path state_;
};

TEST_F(ClusterAccessTest, GrantReaderLetsOneLocalUserReadAndNothingElse) {
  ASSERT_EQ(fluxwatch({"init"}).exit_code, 0);
  ASSERT_EQ(fluxwatch({"watchlist", "import", "-"}, "a.test\nb.test\n").exit_code, 0);
  // Before: the socket directory is closed to others.
  EXPECT_NE(psql_as_nobody("nobody", "SELECT 1").exit_code, 0);

  const auto granted = fluxwatch({"db", "grant-reader", "nobody"});
  ASSERT_EQ(granted.exit_code, 0) << granted.out << granted.err;
  EXPECT_THAT(granted.out, HasSubstr("user=nobody"));

  const auto read = psql_as_nobody("nobody", "SELECT count(*) FROM watchlist");
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out, "2\n");
  const auto write = psql_as_nobody("nobody", "DELETE FROM watchlist");
  EXPECT_NE(write.exit_code, 0);
  EXPECT_THAT(write.err, HasSubstr("permission denied"));
  // Reaching the socket no longer means being trusted as the superuser.
  const auto superuser = psql_as_nobody("postgres", "SELECT 1");
  EXPECT_NE(superuser.exit_code, 0);
  EXPECT_THAT(superuser.err, HasSubstr("authentication failed"));
  // fluxwatch itself still gets in, and the grant survives a restart.
  EXPECT_EQ(fluxwatch({"watchlist", "list"}).exit_code, 0);
  ASSERT_EQ(fluxwatch({"db", "stop"}).exit_code, 0);
  ASSERT_EQ(fluxwatch({"db", "start"}).exit_code, 0);
  EXPECT_EQ(psql_as_nobody("nobody", "SELECT count(*) FROM watchlist").out, "2\n");
  // Granting again (another user or the same) keeps one rule per user.
  EXPECT_EQ(fluxwatch({"db", "grant-reader", "nobody"}).exit_code, 0);
  EXPECT_EQ(psql_as_nobody("nobody", "SELECT 1").out, "1\n");
  EXPECT_NE(fluxwatch({"db", "grant-reader", "no-such-user-here"}).exit_code, 0);
}

TEST_F(ClusterAccessTest, StopWarnsAboutSessionsAndStaysStopped) {
  ASSERT_EQ(fluxwatch({"init"}).exit_code, 0);
  {
    pqxx::connection session(dsn("postgres"));
    const auto refused = fluxwatch({"db", "stop"});
    EXPECT_EQ(refused.exit_code, 3) << refused.err;
    EXPECT_THAT(refused.err, HasSubstr("1 session connected"));
    EXPECT_THAT(refused.err, HasSubstr("--force"));
    EXPECT_EQ(fluxwatch({"db", "status"}).exit_code, 0) << "still running";
  }
  const auto stopped = fluxwatch({"db", "stop"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  // The next command does not start it again behind the user's back.
  const auto list = fluxwatch({"watchlist", "list"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_THAT(list.err, HasSubstr("fluxwatch db start"));
  EXPECT_EQ(fluxwatch({"db", "status"}).exit_code, 3) << "stays stopped";
  const auto status = fluxwatch({"status"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  EXPECT_THAT(status.out, HasSubstr("not running"));
  ASSERT_EQ(fluxwatch({"db", "start"}).exit_code, 0);
  EXPECT_EQ(fluxwatch({"watchlist", "list"}).exit_code, 0);
}

}  // namespace
}  // namespace fluxwatch
