// ManagedCluster: fluxwatch's own PostgreSQL (initdb + pg_ctl), created under the build tree.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/database.h"
#include "storage_test_support.h"
#include "support/test_env.h"

namespace fluxwatch::storage {
namespace {

using fluxwatch::testing::ScratchDatabase;
using ::testing::HasSubstr;

// --- ManagedCluster -----------------------------------------------------------------------

std::filesystem::path unique_dir(const std::string& prefix) {
  std::random_device random;
  return std::filesystem::path(FLUXWATCH_STORAGE_TEST_TMP) /
         (prefix + "-" + std::to_string(random() % 100000000));
}

/// Stops the cluster even when an assertion fails half-way.
struct ClusterGuard {
  ManagedCluster& cluster;
  ~ClusterGuard() {
    try {
      cluster.stop();
    } catch (const std::exception&) {
    }
  }
};

TEST(StorageManagedCluster, FindsTheServerPrograms) {
  const auto bindir = find_postgres_bindir();
  ASSERT_FALSE(bindir.empty());
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(bindir) / "pg_ctl"));
}

TEST(StorageManagedCluster, CreatesStartsStopsAndRestartsWithDataKept) {
  const auto dir = unique_dir("managed");
  std::filesystem::remove_all(dir);
  ManagedCluster cluster(dir.string());
  ClusterGuard guard{cluster};
  EXPECT_FALSE(cluster.running());
  EXPECT_EQ(cluster.dsn(), "host=" + dir.string() + " port=5432 user=postgres dbname=fluxwatch");

  cluster.ensure_running();
  EXPECT_TRUE(cluster.running());
  EXPECT_TRUE(std::filesystem::exists(dir / "data" / "PG_VERSION"));
  EXPECT_TRUE(std::filesystem::exists(dir / ".s.PGSQL.5432"));
  EXPECT_TRUE(std::filesystem::exists(dir / "server.log"));
  {
    Database db(cluster.dsn());
    EXPECT_GE(db.migrate(), 1);
    db.import_watchlist({{"kept.test", "test", {"t"}}});
    EXPECT_EQ(query_text(cluster.dsn(), "SHOW listen_addresses"), "");
    cluster.ensure_running();  // already running: a no-op

    cluster.stop();
    EXPECT_FALSE(cluster.running());
    // The server is gone: store() reconnects with backoff, then gives up with an Error.
    ProbeBatch batch;
    batch.results = {probe(0, "kept.test", RrType::A, kT0, Outcome::Timeout, -1)};
    try {
      db.store(batch);
      ADD_FAILURE() << "stored into a stopped server";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), HasSubstr("store"));
    }
  }

  cluster.ensure_running();
  EXPECT_TRUE(cluster.running());
  Database db(cluster.dsn());
  EXPECT_EQ(db.migrate(), 0);
  ASSERT_EQ(db.watched_domains().size(), 1u);
  EXPECT_EQ(db.watched_domains()[0].domain, "kept.test");
  cluster.stop();
  EXPECT_FALSE(cluster.running());
  cluster.stop();  // stopping a stopped cluster is fine
  std::filesystem::remove_all(dir);
}

TEST(StorageManagedCluster, RejectsPathsPgCtlCannotTakeSafely) {
  ManagedCluster cluster(std::string(FLUXWATCH_STORAGE_TEST_TMP) + "/with space");
  try {
    cluster.ensure_running();
    FAIL() << "accepted a path with a space";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("characters"));
  }
  EXPECT_FALSE(std::filesystem::exists(std::string(FLUXWATCH_STORAGE_TEST_TMP) + "/with space"));
  EXPECT_THROW(ManagedCluster("/" + std::string(120, 'x')).ensure_running(), Error);
}

TEST(StorageManagedCluster, AsRootExplainsAnUnreachableStateDirectory) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "only root hands the server to the postgres user";
  }
  const auto locked = unique_dir("locked");
  std::filesystem::create_directories(locked);
  ASSERT_EQ(chmod(locked.c_str(), 0700), 0);  // like /root
  ManagedCluster cluster((locked / "pg").string());
  try {
    cluster.ensure_running();
    cluster.stop();
    FAIL() << "started a server the postgres user cannot reach";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("choose a state directory the postgres user can reach"));
    EXPECT_THAT(error.what(), HasSubstr(locked.string()));
  }
  std::filesystem::remove_all(locked);
}

}  // namespace
}  // namespace fluxwatch::storage
