// Migrations and the watchlist import against a real PostgreSQL (fixture "postgres"), each
// test on a fresh scratch database.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/database.h"
#include "storage_test_support.h"
#include "support/test_env.h"

namespace fluxwatch::storage {
namespace {

using fluxwatch::testing::ScratchDatabase;
using ::testing::HasSubstr;

// --- migrations ---------------------------------------------------------------------------

TEST(StorageMigrate, AppliesAllOnEmptyDatabaseThenNothing) {
  ScratchDatabase scratch;
  Database db(scratch.dsn());
  EXPECT_EQ(db.schema_version(), 0);
  const int applied = db.migrate();
  EXPECT_GE(applied, 1);
  EXPECT_EQ(query_int(scratch.dsn(), "SELECT count(*) FROM schema_migrations"), applied);
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT name FROM schema_migrations WHERE version = 1"),
            "initial");
  EXPECT_EQ(db.schema_version(),
            query_int(scratch.dsn(), "SELECT max(version) FROM schema_migrations"));
  EXPECT_EQ(db.migrate(), 0);
  EXPECT_EQ(Database(scratch.dsn()).migrate(), 0);

  // The enum has exactly the outcome_name() spellings, in order.
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT enum_range(NULL::dns_outcome)::text"),
            "{NOERROR,NODATA,NXDOMAIN,SERVFAIL,REFUSED,FORMERR,OTHER_RCODE,TIMEOUT,"
            "CONNREFUSED,MALFORMED,NETERROR,LAME}");
  // Researchers read the comments.
  EXPECT_NE(query_text(scratch.dsn(), "SELECT obj_description('probes'::regclass, 'pg_class')"),
            "NULL");
}

TEST(StorageMigrate, ConcurrentMigrationsApplyEachOnce) {
  ScratchDatabase scratch;
  std::vector<int> applied(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < applied.size(); ++i) {
    threads.emplace_back([&, i] {
      Database db(scratch.dsn());
      applied[i] = db.migrate();
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  int total = 0;
  for (const int count : applied) {
    total += count;
  }
  EXPECT_EQ(total, query_int(scratch.dsn(), "SELECT count(*) FROM schema_migrations"));
}

// --- watchlist ----------------------------------------------------------------------------

TEST(StorageWatchlist, ImportCountsAndMergesTags) {
  ScratchDatabase scratch;
  Database db(scratch.dsn());
  db.migrate();
  const auto first = db.import_watchlist({{"a.test", "list1.txt", {"flux", "botnet"}},
                                          {"b.test", "list1.txt", {}},
                                          {"a.test", "list1.txt", {"flux", "phish"}},
                                          {"c.test", "", {""}}});
  EXPECT_EQ(first.added, 3u);
  EXPECT_EQ(first.existing, 0u);
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT tags::text FROM watchlist WHERE domain='a.test'"),
            "{botnet,flux,phish}");
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT tags::text FROM watchlist WHERE domain='c.test'"),
            "{}");
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT source FROM watchlist WHERE domain='c.test'"),
            "NULL");

  const auto second = db.import_watchlist({{"b.test", "feed", {"new"}},
                                           {"a.test", "feed", {"flux"}},
                                           {"d.test", "feed", {"x"}},
                                           {"d.test", "feed", {"y"}}});
  EXPECT_EQ(second.added, 1u);
  EXPECT_EQ(second.existing, 2u);
  EXPECT_EQ(query_int(scratch.dsn(), "SELECT count(*) FROM watchlist"), 4);
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT tags::text FROM watchlist WHERE domain='b.test'"),
            "{new}");
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT tags::text FROM watchlist WHERE domain='a.test'"),
            "{botnet,flux,phish}");
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT tags::text FROM watchlist WHERE domain='d.test'"),
            "{x,y}");
  // The first source stays.
  EXPECT_EQ(query_text(scratch.dsn(), "SELECT source FROM watchlist WHERE domain='b.test'"),
            "list1.txt");

  const auto domains = db.watched_domains();
  ASSERT_EQ(domains.size(), 4u);
  EXPECT_EQ(domains[0].domain, "a.test");  // ids follow input order
  EXPECT_EQ(domains[1].domain, "b.test");
  EXPECT_EQ(domains[2].domain, "c.test");
  EXPECT_EQ(domains[3].domain, "d.test");
  EXPECT_LT(domains[0].id, domains[3].id);

  EXPECT_EQ(db.import_watchlist({}).added, 0u);
}

TEST(StorageWatchlist, RejectsNamesThatAreNotNormalised) {
  ScratchDatabase scratch;
  Database db(scratch.dsn());
  db.migrate();
  EXPECT_THROW(db.import_watchlist({{"Upper.Test", "x", {}}}), Error);
  EXPECT_THROW(db.import_watchlist({{"trailing.dot.", "x", {}}}), Error);
  EXPECT_EQ(query_int(scratch.dsn(), "SELECT count(*) FROM watchlist"), 0);
  // The connection stays usable after an SQL error.
  EXPECT_EQ(db.import_watchlist({{"ok.test", "x", {}}}).added, 1u);
}

// --- runs -------------------------------------------------------------------------------

}  // namespace
}  // namespace fluxwatch::storage
