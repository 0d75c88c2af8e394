// storage::Session, the one retry policy of every store, against real PostgreSQL servers: a
// private one restarted in the middle of a store() call, and the shared one for a COMMIT
// whose connection is cut (a deferred trigger holds COMMIT open while the test terminates
// the backend), and a store() whose COMMIT is cut by a relay that then plays a server that
// is away. Rows are counted exactly.

#include "fluxwatch/storage/session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <pqxx/pqxx>
#include <string>

#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/database.h"
#include "storage_test_support.h"
#include "support/cutting_proxy.h"
#include "support/private_postgres.h"
#include "support/test_env.h"

namespace fluxwatch::storage {
namespace {

using fluxwatch::testing::ScratchDatabase;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(RetryPolicy, WaitsDoubleFromTheFirstUpToTheLongest) {
  const RetryPolicy policy;
  std::vector<std::int64_t> waits;
  for (std::size_t attempt = 0; attempt < 7; ++attempt) {
    waits.push_back(policy.wait_before(attempt).count());
  }
  EXPECT_EQ(waits, (std::vector<std::int64_t>{200, 400, 800, 1600, 3000, 3000, 3000}));
  EXPECT_EQ(policy.deadline, std::chrono::seconds(10));
}

/// True once some backend of `dsn`'s database waits on `wait_event_type`/`wait_event`
/// (only that database's: tests on the shared server run in parallel, and another test's
/// session may wait on the same event meanwhile).
bool someone_waits(const std::string& dsn, const std::string& type, const std::string& event) {
  return fluxwatch::testing::wait_until(
      [&] {
        return query_int(dsn,
                         "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND wait_event_type = '" +
                             type + "' AND wait_event = '" + event + "'") > 0;
      },
      std::chrono::seconds(20));
}

/// One probe of `domain_id`, with one A record: two rows (probe, record) per call.
ProbeBatch one_probe(std::int64_t domain_id) {
  ProbeBatch batch;
  auto result = probe(domain_id, "restart.test", RrType::A, kT0, Outcome::NoError, 0);
  result.records = {rr(Section::Answer, "restart.test", RrType::A, 300, "192.0.2.9")};
  batch.results = {result};
  return batch;
}

TEST(SessionRetry, StoreRunsAgainAfterAServerRestartInTheMiddleAndStoresOnce) {
  testing::PrivatePostgres server("session-restart");
  Database db(server.dsn());
  db.migrate();
  db.import_watchlist({{"restart.test", "t", {}}});
  const auto domain_id = db.watched_domains().at(0).id;

  // Hold store() inside its transaction: another session locks the probe table.
  pqxx::connection locker(server.dsn());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE observations IN ACCESS EXCLUSIVE MODE");
  auto stored = std::async(std::launch::async, [&] { db.store(one_probe(domain_id)); });
  ASSERT_TRUE(someone_waits(server.dsn(), "Lock", "relation"));

  server.stop();  // cuts both sessions; the lock goes with its holder
  server.start();
  ASSERT_NO_THROW(stored.get());
  EXPECT_EQ(query_int(server.dsn(), "SELECT count(*) FROM probes"), 1);
  EXPECT_EQ(query_int(server.dsn(), "SELECT count(*) FROM records"), 1);

  // The restored connection serves the next call.
  db.store(one_probe(domain_id));
  EXPECT_EQ(query_int(server.dsn(), "SELECT count(*) FROM probes"), 2);
}

TEST(SessionRetry, GivesUpAtTheDeadlineWhenTheServerStaysAway) {
  testing::PrivatePostgres server("session-deadline");
  Session session(server.dsn(), "test",
                  RetryPolicy{std::chrono::milliseconds(100), std::chrono::milliseconds(200),
                              std::chrono::milliseconds(1000)});
  // The call sleeps in the server: it can only end by the server going away. (A lock held
  // by another session would not do: the shutdown ends the holder first, and the waiter
  // could take the lock and return before it is ended too.)
  auto call = std::async(std::launch::async, [&] {
    return session.run("wait", [&](pqxx::connection& connection) {
      pqxx::nontransaction tx(connection);
      tx.exec("SELECT pg_sleep(600)");
      return 0;
    });
  });
  ASSERT_TRUE(someone_waits(server.dsn(), "Timeout", "PgSleep"));
  server.stop();  // and it stays away
  // The future is read once: a failing matcher runs its callable again to explain itself.
  std::string failure;
  try {
    call.get();
  } catch (const Error& error) {
    failure = error.what();
  }
  EXPECT_THAT(failure,
              AllOf(HasSubstr("test: wait failed"), HasSubstr("could not restore it within 1 s")));
  // Now that the session knows the server is away, the next call fails at once, without
  // waiting (the callers that ride out outages retry whole calls with their own backoff).
  const auto retries = session.retries();
  EXPECT_THAT([&] { session.run("next", [](pqxx::connection&) { return 0; }); },
              ::testing::ThrowsMessage<Error>(HasSubstr("test: cannot connect to PostgreSQL")));
  EXPECT_EQ(session.retries(), retries);
}

/// A scratch database whose table t holds its first COMMIT open: a deferred constraint
/// trigger sleeps at COMMIT time until the test cuts the connection (a timed sleep could end
/// first on a loaded machine, and the COMMIT would succeed uncut). The sequence counts
/// COMMITs across rollbacks, so the COMMIT run again after the cut does not sleep.
class SessionCommit : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::connection connection(scratch_.dsn());
    pqxx::work tx(connection);
    tx.exec("CREATE TABLE t (a int)");
    tx.exec("CREATE SEQUENCE commits");
    tx.exec(
        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN IF nextval('commits') = 1 THEN PERFORM pg_sleep(600); END IF; RETURN NULL; "
        "END $$");
    tx.exec(
        "CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION slow_commit()");
    tx.commit();
  }
  /// Inserts one row through session.run() + session.commit().
  void insert(Session& session) {
    session.run("insert", [&](pqxx::connection& connection) {
      pqxx::work tx(connection);
      tx.exec("INSERT INTO t VALUES (1)");
      session.commit(tx);
    });
  }
  ScratchDatabase scratch_;
};

TEST_F(SessionCommit, ACommitCutOffIsAskedAboutAndRunAgainOnlyIfItWasNotCommitted) {
  Session session(scratch_.dsn(), "test");
  auto call = std::async(std::launch::async, [&] { insert(session); });
  // The first COMMIT sleeps in the trigger until its connection is cut, here.
  ASSERT_TRUE(someone_waits(scratch_.dsn(), "Timeout", "PgSleep"));
  EXPECT_EQ(query_int(scratch_.dsn(),
                      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE wait_event = 'PgSleep' AND datname = current_database()"),
            1);
  ASSERT_NO_THROW(call.get());
  EXPECT_EQ(session.settled_commits(), 1u);  // COMMIT got no answer: the server was asked
  EXPECT_EQ(session.retries(), 1u);          // it said aborted, so the call ran again
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM t"), 1);  // once, not twice
}

TEST_F(SessionCommit, TheServerSaysWhetherATransactionWasCommitted) {
  Session session(scratch_.dsn(), "test");
  pqxx::connection connection(scratch_.dsn());
  std::string committed;
  std::string aborted;
  {
    pqxx::work tx(connection);
    tx.exec("CREATE TABLE u (a int)");
    committed = tx.exec1("SELECT pg_current_xact_id()::text")[0].as<std::string>();
    tx.commit();
  }
  {
    pqxx::work tx(connection);
    tx.exec("INSERT INTO u VALUES (1)");
    aborted = tx.exec1("SELECT pg_current_xact_id()::text")[0].as<std::string>();
    tx.abort();
  }
  EXPECT_EQ(session.commit_outcome(committed), CommitOutcome::Committed);
  EXPECT_EQ(session.commit_outcome(aborted), CommitOutcome::Aborted);
}

/// A database reached through a CuttingProxy, with a 1 s reconnection deadline, and one
/// batch already stored (so the next store() creates no partition and commits only once).
class StoreInDoubt : public ::testing::Test {
 protected:
  StoreInDoubt() {
    Database setup(scratch_.dsn());
    setup.migrate();
    setup.import_watchlist({{"restart.test", "t", {}}});
    domain_id_ = setup.watched_domains().at(0).id;
    db_.store(one_probe(domain_id_));
  }
  [[nodiscard]] std::int64_t probes() const {
    return query_int(scratch_.dsn(), "SELECT count(*) FROM probes");
  }
  /// Stores `batch` while the proxy cuts its COMMIT `how`: the Unavailable it throws.
  std::string store_cut(const ProbeBatch& batch, testing::CuttingProxy::Cut how) {
    proxy_.cut_next_commit(how);
    try {
      db_.store(batch);
    } catch (const Unavailable& error) {
      EXPECT_TRUE(proxy_.cut_done());
      EXPECT_FALSE(error.in_doubt_transaction().empty()) << error.what();
      return error.what();
    }
    ADD_FAILURE() << "store() did not fail although its COMMIT was cut";
    return {};
  }

  ScratchDatabase scratch_;
  testing::CuttingProxy proxy_{scratch_.dsn()};
  Database db_{proxy_.through(scratch_.dsn()),
               RetryPolicy{std::chrono::milliseconds(50), std::chrono::milliseconds(200),
                           std::chrono::milliseconds(1000)}};
  std::int64_t domain_id_ = 0;
};

TEST_F(StoreInDoubt, ABatchCommittedWhoseAnswerWasLostIsNotStoredAgain) {
  const ProbeBatch batch = one_probe(domain_id_);
  EXPECT_THAT(store_cut(batch, testing::CuttingProxy::Cut::AfterTheServerAnswers),
              HasSubstr("could not say whether the transaction was committed"));
  EXPECT_EQ(probes(), 2);  // the server committed it; only the answer was lost

  // The server is back: the same batch again (as the writer's outage loop does) is settled
  // by asking, and not stored a second time.
  proxy_.come_back();
  ASSERT_NO_THROW(db_.store(batch));
  EXPECT_EQ(probes(), 2);
  db_.store(one_probe(domain_id_));  // and the session goes on
  EXPECT_EQ(probes(), 3);
}

TEST_F(StoreInDoubt, ABatchRolledBackWhileTheServerWasAwayIsStoredOnceItIsBack) {
  const ProbeBatch batch = one_probe(domain_id_);
  (void)store_cut(batch, testing::CuttingProxy::Cut::BeforeTheServer);
  EXPECT_EQ(probes(), 1);  // the COMMIT never reached the server

  // Still away: the batch cannot be settled yet, so it is neither stored nor dropped.
  try {
    db_.store(batch);
    ADD_FAILURE() << "store() went on while the server was away";
  } catch (const Unavailable& error) {
    EXPECT_FALSE(error.in_doubt_transaction().empty());
    EXPECT_THAT(error.what(), HasSubstr("still away"));
  }
  proxy_.come_back();
  ASSERT_NO_THROW(db_.store(batch));
  EXPECT_EQ(probes(), 2);
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM records"), 2);
}

}  // namespace
}  // namespace fluxwatch::storage
