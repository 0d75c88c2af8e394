// The engine in process (no fluxwatch binary): a probe round and a `run --once` worker
// built from parts handed in (crawler, enricher, database, schedule store) against the lab
// and a real PostgreSQL, so round and worker logic are tested where they live. Both
// commands' totals in probe_runs mean the same: probes stored, their records, failures.
// And what the engine does with storage errors: an unreachable database (a real server,
// stopped) is waited out, anything else (a real constraint violation) fails at once.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <pqxx/pqxx>

#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/scheduler/worker.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/schedule_store.h"
#include "fluxwatch/storage/session.h"
#include "support/private_postgres.h"
#include "support/test_env.h"

namespace fluxwatch::scheduler {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.emplace(scratch_.dsn());
    db_->migrate();
    std::vector<storage::WatchEntry> entries;
    for (const char* name : {"flux-alpha.test", "flux-gamma.test", "benign-news.test",
                             "rr-shop.test", "nx-domain-missing.test"}) {
      entries.push_back({name, "engine-test", {}});
    }
    db_->import_watchlist(entries);
    crawler_options_.servers = {testing::lab_server(), testing::lab_blackhole()};
    crawler_options_.timeout = std::chrono::milliseconds(300);
    crawler_options_.tries = 1;
  }

  long scalar(const std::string& sql) {
    pqxx::connection connection(scratch_.dsn());
    pqxx::work tx(connection);
    return tx.exec1(sql)[0].as<long>();
  }
  void exec(const std::string& sql) {
    pqxx::connection connection(scratch_.dsn());
    pqxx::work tx(connection);
    tx.exec(sql);
    tx.commit();
  }

  crawler::AresLibrary ares_;
  testing::ScratchDatabase scratch_;
  std::optional<storage::Database> db_;
  crawler::CrawlerOptions crawler_options_;
};

TEST_F(EngineTest, RoundAndWorkerShareTheEngineAndTheMeaningOfTotals) {
  const auto domains = db_->watched_domains();
  ASSERT_EQ(domains.size(), 5U);
  crawler::Crawler crawler(crawler_options_);
  geo::Enricher enricher(geo::GeoOptions{});
  RoundOptions options;
  options.engine.record_types = {RrType::A, RrType::AAAA};
  const RoundSummary round = run_round(domains, crawler, enricher, *db_, options);
  EXPECT_EQ(round.queries, 10U);
  EXPECT_FALSE(round.interrupted);
  EXPECT_EQ(scalar("SELECT count(*) FROM probes"), 10);
  // The spread: consecutive domains to consecutive resolvers, all types of one domain
  // together; each resolver got a share, and each (domain, type) exactly once.
  EXPECT_EQ(scalar("SELECT count(DISTINCT resolver) FROM probes"), 2);
  EXPECT_EQ(scalar("SELECT count(DISTINCT (domain_id, qtype)) FROM probes"), 10);

  storage::ScheduleStore schedule(scratch_.dsn());
  WorkerOptions worker_options;
  worker_options.campaign = "engine";
  worker_options.engine = options.engine;
  worker_options.engine.mode = EngineMode::EveryResolver;
  worker_options.once = true;
  worker_options.flush_interval = std::chrono::milliseconds(50);
  Worker worker(worker_options, WorkerParts{crawler, enricher, *db_, schedule});
  const std::atomic<bool> stop{false};
  const WorkerStats stats = worker.run(stop);
  EXPECT_EQ(stats.domains_probed, 5U);
  EXPECT_EQ(stats.probes_stored, 20U);  // 5 domains x 2 types x 2 resolvers
  EXPECT_EQ(stats.probes_dropped, 0U);
  EXPECT_EQ(scalar("SELECT count(*) FROM probes WHERE campaign = 'engine'"), 20);
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT domain_id FROM probes WHERE campaign = 'engine' "
                   "GROUP BY domain_id, due_at HAVING count(DISTINCT resolver) = 2 AND "
                   "count(*) = 4) d"),
            5);

  // Both runs' totals: probes stored, records of those probes, failed probes.
  EXPECT_EQ(scalar("SELECT count(*) FROM probe_runs r WHERE r.finished_at IS NOT NULL AND "
                   "r.probes = (SELECT count(*) FROM probes p WHERE p.run_id = r.run_id) AND "
                   "r.errors = (SELECT count(*) FROM probes p WHERE p.run_id = r.run_id AND "
                   "p.outcome = 'TIMEOUT')"),
            2);
  EXPECT_EQ(scalar("SELECT count(*) FROM probe_runs WHERE records > 0"), 2);
  EXPECT_EQ(static_cast<std::size_t>(scalar("SELECT records FROM probe_runs WHERE kind = 'probe'")),
            round.records);
}

/// One answered A probe of `domain` in run `run_id`, with one address.
storage::ProbeBatch one_probe(const WatchedDomain& domain, std::int64_t run_id) {
  ProbeResult result;
  result.domain_id = domain.id;
  result.name = domain.domain;
  result.qtype = RrType::A;
  result.resolver = "127.0.0.1:53";
  result.sent_at = std::chrono::system_clock::now();
  result.outcome = Outcome::NoError;
  result.rcode = 0;
  result.records = {ResourceRecord{Section::Answer, domain.domain,
                                   static_cast<std::uint16_t>(RrType::A), 300, "192.0.2.7"}};
  return storage::ProbeBatch{run_id, {result}, {}, {}};
}

TEST_F(EngineTest, AConstraintViolationWhileStoringFailsAtOnceWithItsMessage) {
  const auto domains = db_->watched_domains();
  const auto run_id = db_->begin_run("probe", "{}");
  retry_through_outage("test: storing", std::chrono::seconds(30),
                       [&] { hand_to_storage(*db_, one_probe(domains.at(0), run_id)); });
  ASSERT_EQ(scalar("SELECT count(*) FROM probes"), 1);
  // A real constraint of the server that the next batch violates: an error in the data (or
  // in the writer), not an outage. Retrying it would fail the same way for the whole
  // tolerance, as it did before storage::Unavailable.
  exec(
      fmt::format("ALTER TABLE observations ADD CONSTRAINT not_this_domain CHECK (domain_id <> {})",
                  domains.at(1).id));
  int calls = 0;
  std::string failure;
  try {
    retry_through_outage("test: storing", std::chrono::seconds(30), [&] {
      ++calls;
      hand_to_storage(*db_, one_probe(domains.at(1), run_id));
    });
  } catch (const storage::Unavailable& error) {
    failure = std::string("Unavailable: ") + error.what();
  } catch (const Error& error) {
    failure = error.what();
  }
  EXPECT_EQ(calls, 1) << "an SQL error was retried as if the database were away";
  EXPECT_THAT(failure, AllOf(HasSubstr("not_this_domain"), HasSubstr("SQLSTATE 23514")));
  EXPECT_THAT(failure, ::testing::Not(HasSubstr("Unavailable")));
  EXPECT_EQ(scalar("SELECT count(*) FROM probes"), 1);
  EXPECT_EQ(
      scalar(fmt::format("SELECT count(*) FROM probes WHERE domain_id = {}", domains.at(1).id)), 0);
}

TEST_F(EngineTest, AConstraintViolationFailsTheCampaignInsteadOfBeingRetried) {
  // Every probe of the campaign violates it: `run` used to log "database unavailable" and
  // retry until its shutdown grace, then exit with the results unwritten.
  exec("ALTER TABLE observations ADD CONSTRAINT nothing_stored CHECK (domain_id < 0)");
  crawler::Crawler crawler(crawler_options_);
  geo::Enricher enricher(geo::GeoOptions{});
  storage::ScheduleStore schedule(scratch_.dsn());
  WorkerOptions options;
  options.campaign = "engine";
  options.engine.record_types = {RrType::A};
  options.once = true;
  options.flush_interval = std::chrono::milliseconds(50);
  options.shutdown_grace = std::chrono::seconds(5);
  Worker worker(options, WorkerParts{crawler, enricher, *db_, schedule});
  const std::atomic<bool> stop{false};
  std::string failure;
  try {
    const WorkerStats stats = worker.run(stop);
    failure = fmt::format("returned: {} stored, {} unwritten", stats.probes_stored,
                          stats.probes_unwritten);
  } catch (const Error& error) {
    failure = error.what();
  }
  EXPECT_THAT(failure, AllOf(HasSubstr("nothing_stored"), HasSubstr("SQLSTATE 23514")));
  EXPECT_EQ(scalar("SELECT count(*) FROM probes"), 0);
  // Nothing was committed for the campaign: every domain is still due.
  EXPECT_EQ(scalar("SELECT count(*) FROM schedule WHERE campaign = 'engine' AND last_sent IS "
                   "NULL"),
            5);
}

TEST(EngineOutage, AStoppedServerIsWaitedOutAndTheCallStoresOnce) {
  testing::PrivatePostgres server("engine-outage");
  // A short reconnect deadline of the session's own, so the outage soon reaches the engine.
  storage::Session session(
      server.dsn(), "test",
      storage::RetryPolicy{std::chrono::milliseconds(50), std::chrono::milliseconds(100),
                           std::chrono::milliseconds(300)});
  const auto insert = [&](int value) {
    session.run("insert", [&](pqxx::connection& connection) {
      pqxx::work tx(connection);
      tx.exec_params("INSERT INTO t VALUES ($1)", value);
      session.commit(tx);
    });
  };
  session.exec_write("create", "CREATE TABLE t (a int)");
  insert(1);
  server.stop();
  // What a stopped server gives: Unavailable, the one error the engine waits out.
  EXPECT_THROW(insert(0), storage::Unavailable);
  std::atomic<int> calls = 0;
  auto stored = std::async(std::launch::async, [&] {
    retry_through_outage("test: storing", std::chrono::seconds(120), [&] {
      ++calls;
      insert(2);
    });
  });
  // Back once the engine has been turned away at least twice.
  ASSERT_TRUE(testing::wait_until([&] { return calls.load() >= 2; }, std::chrono::seconds(30)));
  server.start();
  ASSERT_NO_THROW(stored.get());
  EXPECT_GE(calls.load(), 3);
  pqxx::connection check(server.dsn());
  pqxx::read_transaction tx(check);
  EXPECT_EQ(tx.exec1("SELECT string_agg(a::text, ',' ORDER BY a) FROM t")[0].as<std::string>(),
            "1,2");
}

}  // namespace
}  // namespace fluxwatch::scheduler
