// `fluxwatch run` against the lab and a real PostgreSQL: TTL-aware intervals, several
// workers on one database, a SIGKILLed worker's domains taken over, overlapping cron runs,
// graceful SIGTERM, and rate limits. Every assertion reads the stored probes (due_at,
// sent_at, vantage) or the processes' exit status and final report.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "support/background.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

using testing::Background;

struct Probe {
  std::string domain;
  std::string vantage;
  double due = 0;   // seconds since the epoch
  double sent = 0;  // seconds since the epoch
};

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("fluxwatch-run-{}-{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Writes the config: the lab resolver, one campaign `c` with `campaign_yaml` lines.
  void configure(const std::string& campaign_yaml, const std::string& extra = {}) {
    config_ = (dir_ / "config.yaml").string();
    std::ofstream(config_) << fmt::format(
        "resolvers: [\"{}\"]\n"
        "probe: {{timeout_ms: 1000, tries: 2, concurrency: 200, record_types: [A]}}\n"
        "campaigns:\n  - name: c\n{}"
        "{}",
        testing::lab_server().to_string(), campaign_yaml, extra);
  }

  std::vector<std::string> argv(std::vector<std::string> args) const {
    std::vector<std::string> out{testing::fluxwatch_binary().string(), "--config", config_, "--dsn",
                                 db_.dsn()};
    out.insert(out.end(), args.begin(), args.end());
    return out;
  }

  testing::CommandResult fluxwatch(std::vector<std::string> args) const {
    return testing::run_command(argv(std::move(args)));
  }

  std::unique_ptr<Background> start(std::vector<std::string> args, const std::string& name) {
    return std::make_unique<Background>(argv(std::move(args)), (dir_ / (name + ".log")).string());
  }

  /// init + import of `lines` (watchlist format) with source "t".
  void import(const std::string& lines) {
    const auto path = dir_ / "watchlist.txt";
    std::ofstream(path) << lines;
    const auto init = fluxwatch({"init"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    const auto imported = fluxwatch({"watchlist", "import", path.string(), "--source", "t"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  static std::string lab_names() {
    std::ifstream in(testing::source_dir() / "deploy/lab/watchlist.txt");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  /// The lab's watchlist plus `extra` wildcard names of flux-alpha.test (TTL 30).
  static std::string many_names(int extra) {
    std::string text = lab_names();
    for (int i = 0; i < extra; ++i) {
      text += fmt::format("h{:03}.flux-alpha.test,flux\n", i);
    }
    return text;
  }

  long scalar(const std::string& sql) const {
    pqxx::connection connection(db_.dsn());
    pqxx::work tx(connection);
    return tx.exec1(sql)[0].as<long>();
  }

  std::vector<Probe> probes() const {
    pqxx::connection connection(db_.dsn());
    pqxx::work tx(connection);
    std::vector<Probe> out;
    for (const auto& row :
         tx.exec("SELECT w.domain, coalesce(p.vantage, ''), extract(epoch FROM p.due_at)::float8, "
                 "extract(epoch FROM p.sent_at)::float8 FROM probes p JOIN watchlist w "
                 "USING (domain_id) WHERE p.campaign = 'c' ORDER BY w.domain, p.sent_at")) {
      out.push_back(Probe{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<double>(),
                          row[3].as<double>()});
    }
    return out;
  }

  std::map<std::string, std::vector<Probe>> by_domain() const {
    std::map<std::string, std::vector<Probe>> out;
    for (auto& probe : probes()) {
      out[probe.domain].push_back(probe);
    }
    return out;
  }

  long probe_count() const { return scalar("SELECT count(*) FROM probes WHERE campaign = 'c'"); }
  long domain_count() const { return scalar("SELECT count(*) FROM watchlist"); }

  testing::ScratchDatabase db_;
  std::filesystem::path dir_;
  std::string config_;
};

TEST_F(RunTest, FluxDomainIsProbedAtItsTtlAndStableDomainAtMaxInterval) {
  // flux-gamma.test: TTL 10, new answers every query. benign-news.test: TTL 3600, stable.
  configure("    min_interval: 1\n    max_interval: 14\n    jitter: 0.05\n",
            "scheduler: {flush_ms: 100}\n");
  import("flux-gamma.test\nbenign-news.test\n");
  auto worker = start({"run", "--progress", "never"}, "worker");
  ASSERT_TRUE(testing::wait_until(
      [&] {
        const auto domains = by_domain();
        return domains.count("flux-gamma.test") == 1 && domains.at("flux-gamma.test").size() >= 3 &&
               domains.count("benign-news.test") == 1 && domains.at("benign-news.test").size() >= 2;
      },
      seconds(40)))
      << worker->log();
  worker->signal(SIGTERM);
  ASSERT_EQ(worker->wait(seconds(20)), 0) << worker->log();

  const auto domains = by_domain();
  auto check = [&](const std::string& name, double interval) {
    const auto& list = domains.at(name);
    for (std::size_t i = 1; i < list.size(); ++i) {
      // Due = previous send + interval, moved up to 5% earlier by jitter.
      const double planned = list[i].due - list[i - 1].sent;
      EXPECT_GE(planned, interval * 0.95 - 0.01) << name << " probe " << i;
      EXPECT_LE(planned, interval + 0.01) << name << " probe " << i;
      // And it was sent when due (lease, flush and loop latency only).
      const double late = list[i].sent - list[i].due;
      EXPECT_GE(late, -0.05) << name << " probe " << i;
      EXPECT_LE(late, 1.0) << name << " probe " << i;
    }
  };
  check("flux-gamma.test", 10.0);
  check("benign-news.test", 14.0);
}

TEST_F(RunTest, ThreeWorkersProbeEachDueProbeExactlyOnce) {
  configure("    min_interval: 2\n    max_interval: 2\n    jitter: 0\n",
            "scheduler: {lease_batch: 10, flush_ms: 100}\n");
  import(many_names(60));
  const long domains = domain_count();
  std::vector<std::unique_ptr<Background>> workers;
  for (const char* name : {"w1", "w2", "w3"}) {
    workers.push_back(start({"run", "--vantage", name, "--progress", "never"}, name));
  }
  ASSERT_TRUE(testing::wait_until([&] { return probe_count() >= domains * 4; }, seconds(40)));
  for (auto& worker : workers) {
    worker->signal(SIGTERM);
  }
  for (auto& worker : workers) {
    ASSERT_EQ(worker->wait(seconds(20)), 0) << worker->log();
  }

  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT domain_id, due_at FROM probes "
                   "GROUP BY 1, 2 HAVING count(*) > 1) d"),
            0);
  std::map<std::string, int> per_worker;
  const auto all = by_domain();
  EXPECT_EQ(static_cast<long>(all.size()), domains);
  for (const auto& [domain, list] : all) {
    EXPECT_GE(list.size(), 3U) << domain;
    for (std::size_t i = 0; i < list.size(); ++i) {
      ++per_worker[list[i].vantage];
      if (i > 0) {
        // Each due time follows from the previous probe: none skipped, none repeated.
        EXPECT_NEAR(list[i].due - list[i - 1].sent, 2.0, 0.01) << domain << " probe " << i;
        EXPECT_LT(list[i].sent - list[i].due, 1.5) << domain << " probe " << i;
      }
    }
  }
  for (const char* name : {"w1", "w2", "w3"}) {
    EXPECT_GT(per_worker[name], 0) << name << " did no work";
  }
}

TEST_F(RunTest, KilledWorkersDomainsAreTakenOver) {
  // Slow (5 queries/s) and long intervals: every domain is due once in this test.
  configure("    min_interval: 3600\n    max_interval: 3600\n    qps: 5\n",
            "scheduler: {lease_seconds: 2, flush_ms: 100}\n");
  import(lab_names());
  const long domains = domain_count();
  auto first = start({"run", "--vantage", "A", "--progress", "never"}, "A");
  ASSERT_TRUE(testing::wait_until([&] { return probe_count() >= 3; }, seconds(20)));
  first->signal(SIGKILL);
  ASSERT_EQ(first->wait(seconds(10)), 128 + SIGKILL);
  const long orphaned = scalar("SELECT count(*) FROM schedule WHERE lease_owner IS NOT NULL");
  EXPECT_GT(orphaned, 0) << "the killed worker held no leases: nothing to take over";

  auto second = start({"run", "--vantage", "B", "--progress", "never"}, "B");
  ASSERT_TRUE(testing::wait_until(
      [&] { return scalar("SELECT count(DISTINCT domain_id) FROM probes") == domains; },
      seconds(40)))
      << second->log();
  second->signal(SIGTERM);
  ASSERT_EQ(second->wait(seconds(20)), 0) << second->log();

  EXPECT_EQ(probe_count(), domains);  // each domain exactly once: nothing skipped or doubled
  EXPECT_GT(scalar("SELECT count(*) FROM probes WHERE vantage = 'A'"), 0);
  EXPECT_GT(scalar("SELECT count(*) FROM probes WHERE vantage = 'B'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM schedule WHERE lease_owner IS NOT NULL"), 0);
}

TEST_F(RunTest, OverlappingOnceRunsProbeOnce) {
  configure("    min_interval: 3600\n    max_interval: 3600\n    qps: 10\n",
            "scheduler: {flush_ms: 100}\n");
  import(lab_names());
  const long domains = domain_count();
  auto first = start({"run", "--once", "--campaign", "c"}, "first");
  // The campaign's lock in this database (pg_locks shows the whole server's: another test's
  // migration holds an advisory lock too, now and then).
  ASSERT_TRUE(testing::wait_until(
      [&] {
        return scalar(
                   "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                   "database = (SELECT oid FROM pg_database WHERE datname = "
                   "current_database())") > 0;
      },
      seconds(20)))
      << first->log();
  const auto second = fluxwatch({"run", "--once", "--campaign", "c"});
  EXPECT_EQ(second.exit_code, 4) << second.err;
  EXPECT_THAT(second.err, HasSubstr("skipped"));
  ASSERT_EQ(first->wait(seconds(30)), 0) << first->log();
  EXPECT_EQ(probe_count(), domains);
  EXPECT_EQ(scalar("SELECT count(DISTINCT domain_id) FROM probes"), domains);

  // A later cron run finds nothing due and probes nothing.
  const auto third = fluxwatch({"run", "--once", "--campaign", "c"});
  EXPECT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(probe_count(), domains);
}

TEST_F(RunTest, SigtermWritesEveryBufferedResult) {
  // Results are only written at 5,000 per batch or after a minute: until SIGTERM,
  // everything probed is in the buffer (and its domains stay leased, so each is probed
  // once).
  configure("    min_interval: 1\n    max_interval: 1\n    qps: 200\n",
            "scheduler: {flush_ms: 60000}\n");
  import(many_names(60));
  auto worker = start({"run", "--progress", "always"}, "worker");
  const std::regex sent_re(R"((\d+) queries sent)");
  auto sent_so_far = [&] {
    const auto log = worker->log();
    long last = 0;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), sent_re);
         it != std::sregex_iterator(); ++it) {
      last = std::stol((*it)[1].str());
    }
    return last;
  };
  const long domains = domain_count();
  ASSERT_TRUE(testing::wait_until([&] { return sent_so_far() >= domains; }, seconds(30)))
      << worker->log();
  EXPECT_EQ(probe_count(), 0) << "results were written before SIGTERM: nothing was buffered";
  worker->signal(SIGTERM);
  ASSERT_EQ(worker->wait(seconds(30)), 0) << worker->log();
  const std::regex report(
      R"(campaign c: \d+ domains probed, (\d+) queries sent, (\d+) probes stored, 0 dropped \(lease lost\), 0 unwritten)");
  std::smatch match;
  const auto log = worker->log();
  ASSERT_TRUE(std::regex_search(log, match, report)) << log;
  const long sent = std::stol(match[1].str());
  EXPECT_EQ(sent, domains);
  EXPECT_EQ(std::stol(match[2].str()), sent);
  EXPECT_EQ(probe_count(), sent);
}

TEST_F(RunTest, DaemonImportsConfiguredFeeds) {
  // A feed listed in the config is fetched by the daemon itself (file:// needs no server)
  // and its domains join the watchlist while probing goes on.
  const auto feed = dir_ / "feed.txt";
  std::ofstream(feed) << "# a feed\nfeed-one.test\nnot a name\nfeed-two.test\n";
  configure("    min_interval: 5\n    max_interval: 5\n",
            fmt::format("feeds:\n  - url: \"file://{}\"\n    tag: from-feed\n", feed.string()));
  import("benign-news.test\n");
  auto worker = start({"run"}, "worker");
  EXPECT_TRUE(testing::wait_until(
      [&] {
        return scalar(
                   "SELECT count(*) FROM watchlist WHERE domain IN ('feed-one.test', "
                   "'feed-two.test') AND 'from-feed' = ANY (tags)") == 2;
      },
      seconds(30)))
      << worker->log();
  worker->signal(SIGTERM);
  ASSERT_EQ(worker->wait(seconds(30)), 0) << worker->log();
  EXPECT_THAT(worker->log(), HasSubstr("2 domains (2 new"));
}

TEST_F(RunTest, RateLimitHolds) {
  configure(
      "    min_interval: 3600\n    max_interval: 3600\n    qps: 10\n    qps_per_resolver: 50\n",
      "scheduler: {flush_ms: 100}\n");
  import(lab_names());
  const auto run = fluxwatch({"run", "--once", "--campaign", "c"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<double> sent;
  for (const auto& probe : probes()) {
    sent.push_back(probe.sent);
  }
  std::sort(sent.begin(), sent.end());
  ASSERT_EQ(static_cast<long>(sent.size()), domain_count());
  // No window of one second holds more than 10 queries + the bucket's one token.
  std::size_t most = 0;
  for (std::size_t i = 0, j = 0; i < sent.size(); ++i) {
    while (sent[i] - sent[j] >= 1.0) {
      ++j;
    }
    most = std::max(most, i - j + 1);
  }
  EXPECT_LE(most, 11U);
  const double rate = static_cast<double>(sent.size() - 1) / (sent.back() - sent.front());
  EXPECT_LE(rate, 10.5);
  EXPECT_GE(rate, 8.0);  // limited by the bucket, not slowed down by something else
}

}  // namespace
}  // namespace fluxwatch
