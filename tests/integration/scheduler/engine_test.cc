// The engine in process (no fluxwatch binary): a probe round and a `run --once` worker
// built from parts handed in (crawler, enricher, database, schedule store) against the lab
// and a real PostgreSQL, so round and worker logic are tested where they live. Both
// commands' totals in probe_runs mean the same: probes stored, their records, failures.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>

#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/probe_round.h"
#include "fluxwatch/scheduler/worker.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/schedule_store.h"
#include "support/test_env.h"

namespace fluxwatch::scheduler {
namespace {

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

}  // namespace
}  // namespace fluxwatch::scheduler
