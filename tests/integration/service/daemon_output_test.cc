// What a person sees of a running fluxwatch, through the real executable on the lab: the
// heartbeat line in a pipe (its totals equal the stored rows), the status line cleared
// before every log line, --trace for one domain, and log.format: json.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "support/background.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

class DaemonOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(fluxwatch({"init"}).exit_code, 0);
    ASSERT_EQ(fluxwatch({"watchlist", "import",
                         (testing::source_dir() / "deploy/lab/watchlist.txt").string()})
                  .exit_code,
              0);
  }
  testing::CommandResult fluxwatch(const std::vector<std::string>& args) const {
    return testing::run_fluxwatch(config_, db_.dsn(), args);
  }
  long long count(const std::string& sql) const {
    pqxx::connection connection(db_.dsn());
    pqxx::nontransaction tx(connection);
    return tx.exec(sql)[0][0].as<long long>();
  }
  std::vector<std::string> run_argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{
        testing::fluxwatch_binary().string(), "--config", config_, "--dsn", db_.dsn(), "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  testing::ScratchDatabase db_;
  std::string config_ = testing::write_lab_config("daemon-output");
};

TEST_F(DaemonOutputTest, HeartbeatInAPipeCountsWhatWasStored) {
  testing::Background run(run_argv({"--progress", "never", "--heartbeat", "1"}),
                          config_ + ".heartbeat.log");
  const long long domains = count("SELECT count(*) FROM watchlist");
  ASSERT_TRUE(testing::wait_until(
      [&] { return count("SELECT count(*) FROM schedule WHERE last_sent IS NOT NULL") == domains; },
      seconds(60)))
      << run.log();
  const long long probes = count("SELECT count(*) FROM probes");
  // A heartbeat after all is stored reports the stored total.
  const std::regex heartbeat(
      R"(heartbeat: \d+ queries sent, \d+ stored in the last 1 s \((\d+) / (\d+) in total\), \d+ buffered, backlog \S+, lateness p50 \S+ p95 \S+, \d+ unanswered, \d+ database errors)");
  ASSERT_TRUE(testing::wait_until(
      [&] {
        std::smatch match;
        for (const auto& line : lines_of(run.log())) {
          if (std::regex_search(line, match, heartbeat) && std::stoll(match[2]) == probes) {
            return true;
          }
        }
        return false;
      },
      seconds(10)))
      << run.log();
  run.signal(SIGTERM);
  EXPECT_EQ(run.wait(seconds(30)), 0) << run.log();
  // Log lines in a pipe carry a timestamp; no status line escapes end up in the file.
  EXPECT_THAT(run.log(), Not(HasSubstr("\033[K")));
}

TEST_F(DaemonOutputTest, StatusLineIsClearedBeforeEveryLogLine) {
  testing::Background run(run_argv({"--progress", "always", "-v", "--once"}),
                          config_ + ".statusline.log");
  ASSERT_EQ(run.wait(seconds(60)), 0) << run.log();
  const std::string log = run.log();
  ASSERT_THAT(log, HasSubstr("\r\033[Krun: ")) << "a status line was drawn";
  int batch_lines = 0;
  for (const auto& line : lines_of(log)) {
    const auto at = line.find("batch of");
    if (at == std::string::npos) {
      continue;
    }
    ++batch_lines;
    // Whatever the status line wrote on this terminal line was cleared before the log text.
    const auto cleared = line.rfind("\r\033[K", at);
    const std::string before =
        cleared == std::string::npos ? line.substr(0, at) : line.substr(cleared, at - cleared);
    EXPECT_THAT(before, Not(HasSubstr("queries sent"))) << "glued: " << line;
  }
  EXPECT_GT(batch_lines, 0) << "-v logs each batch:\n" << log;
}

TEST_F(DaemonOutputTest, TraceShowsEveryQueryAndAnswerOfOneDomainOnly) {
  const auto result =
      fluxwatch({"probe", "--progress", "never", "--types", "A,NS", "--trace", "flux-alpha.test"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("trace: flux-alpha.test A via"));
  EXPECT_THAT(result.err, HasSubstr("trace: flux-alpha.test NS via"));
  EXPECT_THAT(result.err, HasSubstr("NOERROR (rcode 0)"));
  EXPECT_THAT(result.err,
              ::testing::ContainsRegex(
                  R"(trace:   answer +flux-alpha\.test [0-9]+ A [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)"));
  EXPECT_THAT(result.err, Not(HasSubstr("trace: benign-news.test")));
  // One trace line per query of the domain, as stored.
  int queries = 0;
  for (const auto& line : lines_of(result.err)) {
    queries += line.find("trace: flux-alpha.test ") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(queries, count("SELECT count(*) FROM probes WHERE qname = 'flux-alpha.test'"));
}

TEST_F(DaemonOutputTest, JsonLogFormatWritesOneObjectPerLine) {
  std::ofstream(config_, std::ios::app) << "log:\n  format: json\n";
  const auto result = fluxwatch({"probe", "--progress", "never"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = lines_of(result.err);
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    const auto json = nlohmann::json::parse(line);  // throws (fails) on anything else
    EXPECT_TRUE(json.contains("time"));
    EXPECT_TRUE(json["level"] == "info" || json["level"] == "warning") << line;
    EXPECT_TRUE(json["message"].is_string());
  }
  EXPECT_THAT(result.err, HasSubstr("\"message\":\"round 1"));
}

}  // namespace
}  // namespace fluxwatch
