// The layout of migrations 0009, 0013 and 0015 against a real PostgreSQL: answer sets stored
// once (packed, the zone's part shared), narrow observations, the (domain, address) summary
// kept by the writer, TTL countdowns that keep
// their exact TTLs, daily partitions with the default partition as a safety net, and
// retention (Database::prune) dropping whole days while the summaries stay.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "answer_set.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/database.h"
#include "support/test_env.h"

namespace fluxwatch::storage {
namespace {

using namespace std::chrono;

const system_clock::time_point kT0 = sys_days{year{2026} / November / 22} + 10h;

std::string text(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::read_transaction tx(connection);
  const auto rows = tx.exec(sql);
  return rows.empty() || rows[0][0].is_null() ? "NULL" : rows[0][0].as<std::string>();
}
/// Runs a statement that writes and returns its first field as text.
std::string write(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::work tx(connection);
  const auto value = tx.exec1(sql)[0].as<std::string>();
  tx.commit();
  return value;
}
std::int64_t number(const std::string& dsn, const std::string& sql) {
  return std::stoll(text(dsn, sql));
}

class AnswerSetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.migrate();
    db_.import_watchlist({{"flux.test", "t", {}}, {"other.test", "t", {}}});
    for (const auto& domain : db_.watched_domains()) {
      (domain.domain == "flux.test" ? flux_ : other_) = domain.id;
    }
  }

  /// An A probe of flux.test at `at` answering `addresses` with `ttl` (and a CNAME with
  /// `cname_ttl`).
  ProbeResult a_probe(system_clock::time_point at, std::vector<std::string> addresses,
                      std::uint32_t ttl, std::uint32_t cname_ttl = 3600) const {
    ProbeResult result;
    result.domain_id = flux_;
    result.name = "flux.test";
    result.resolver = "127.0.0.1:53";
    result.sent_at = at;
    result.latency = microseconds(900);
    result.outcome = Outcome::NoError;
    result.rcode = 0;
    result.records.push_back(
        ResourceRecord{Section::Answer, "www.flux.test", 5, cname_ttl, "flux.test"});
    for (auto& address : addresses) {
      result.records.push_back(ResourceRecord{Section::Answer, "flux.test", 1, ttl, address});
    }
    return result;
  }

  /// The content address of a_probe(kT0, {"127.1.0.1"}, 300)'s answer set.
  detail::CanonicalAnswer canonical() const {
    return detail::canonical_answer(a_probe(kT0, {"127.1.0.1"}, 300).records);
  }
  std::int64_t canonical_id() const { return canonical().id; }
  std::int64_t canonical_check() const { return canonical().digest_check; }
  std::int64_t canonical_shape() const { return canonical().ttl_shape; }

  void store(std::vector<ProbeResult> results) {
    db_.store(ProbeBatch{0, std::move(results), {}, ""});
  }

  testing::ScratchDatabase scratch_;
  std::string dsn_ = scratch_.dsn();
  Database db_{dsn_};
  std::int64_t flux_ = 0;
  std::int64_t other_ = 0;
};

TEST_F(AnswerSetStoreTest, UnchangedAnswersAddOneNarrowRowAndKeepEveryTtl) {
  store({a_probe(kT0, {"127.1.0.1", "127.1.0.2"}, 300)});
  // A resolver's countdown (uniform), the same set in another order, then an uneven
  // countdown (the CNAME cached earlier than the A records).
  auto shuffled = a_probe(kT0 + 2min, {"127.1.0.2", "127.1.0.1"}, 180, 3480);
  store({a_probe(kT0 + 1min, {"127.1.0.1", "127.1.0.2"}, 240, 3540), shuffled,
         a_probe(kT0 + 3min, {"127.1.0.1", "127.1.0.2"}, 100, 1000)});
  // A new process (empty caches) sees the same set: still stored once.
  Database again(dsn_);
  again.store(ProbeBatch{0, {a_probe(kT0 + 4min, {"127.1.0.1", "127.1.0.2"}, 50, 3350)}, {}, ""});

  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM answer_sets"), 1);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM answer_set_records"), 3);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 5);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations WHERE ttls IS NOT NULL"), 1);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations WHERE ttl IS NULL"), 1)
      << "only the first probe's TTL is the set's own (answer_set_contents.ttl)";
  // Every record of every probe with the TTL it had.
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(rtype || ':' || ttl, ',' ORDER BY p.sent_at, rtype, ttl) "
                 "FROM records r JOIN probes p USING (probe_id)"),
            "A:300,A:300,CNAME:3600,A:240,A:240,CNAME:3540,A:180,A:180,CNAME:3480,"
            "A:100,A:100,CNAME:1000,A:50,A:50,CNAME:3350");
  EXPECT_EQ(text(dsn_,
                 "SELECT format('%s %s %s %s', first_seen, last_seen, times_seen, min_ttl) "
                 "FROM domain_address_seen WHERE address = '127.1.0.2'"),
            "2026-11-22 10:00:00+00 2026-11-22 10:04:00+00 5 50");
  EXPECT_EQ(text(dsn_, "SELECT count(*) FROM domain_addresses WHERE domain = 'flux.test'"), "2");
}

TEST_F(AnswerSetStoreTest, TheSummaryIsKeptPerAnswerSetAndSummedPerAddress) {
  // .1 in three sets (once twice in one answer), .2 and .3 in one each; a timeout between.
  auto timeout = a_probe(kT0 + 1min, {}, 0);
  timeout.records.clear();
  timeout.outcome = Outcome::Timeout;
  timeout.rcode = -1;
  store({a_probe(kT0, {"127.1.0.1", "127.1.0.2"}, 300), timeout,
         a_probe(kT0 + 2min, {"127.1.0.1", "127.1.0.3"}, 200)});
  store({a_probe(kT0 + 3min, {"127.1.0.1", "127.1.0.1"}, 100),
         a_probe(kT0 + 4min, {"127.1.0.1", "127.1.0.2"}, 250)});
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(format('%s %s %s %s %s', host(address), first_seen, last_seen, "
                 "times_seen, min_ttl), ', ' ORDER BY address) FROM domain_addresses"),
            "127.1.0.1 2026-11-22 10:00:00+00 2026-11-22 10:04:00+00 4 100, "
            "127.1.0.2 2026-11-22 10:00:00+00 2026-11-22 10:04:00+00 2 250, "
            "127.1.0.3 2026-11-22 10:02:00+00 2026-11-22 10:02:00+00 1 200");
  // One summary row per set (the counters live in answer_sets), none per address.
  EXPECT_EQ(
      text(dsn_, "SELECT string_agg(times_seen::text, ',' ORDER BY times_seen) FROM answer_sets"),
      "1,1,2");
  // What repeats across a run's probes is stored once: two contexts (NOERROR, TIMEOUT).
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM probe_contexts"), 2);
  // The domain's own name is not stored again in each row; the probes view shows it.
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations WHERE qname IS NOT NULL"), 0);
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(DISTINCT qname || ' ' || qtype || ' ' || outcome, ',') "
                 "FROM probes"),
            "flux.test A NOERROR,flux.test A TIMEOUT");
}

TEST_F(AnswerSetStoreTest, AWriterThatLosesTheRaceForANewSetCountsItsProbesOnce) {
  // Another writer's transaction holds the same new set (and its address), uncommitted: this
  // writer's look-ups do not see them, its inserts wait for them, then skip them, read them
  // back and add its counters.
  pqxx::connection other_connection(dsn_);
  pqxx::work other(other_connection);
  other.exec_params(
      "WITH a AS (INSERT INTO addresses (address) VALUES ('127.1.0.1') RETURNING address_id) "
      "INSERT INTO answer_set_contents (domain_id, answer_set_id, digest_check, ttl_shape, "
      "rtypes, owners, ttl_offsets, address_ids, targets) "
      "SELECT $1, $2, $3, $4, '{CNAME,A}', '{www.flux.test,NULL}', '{3300,0}', "
      "ARRAY[NULL, address_id], '{flux.test,NULL}' FROM a",
      flux_, canonical_id(), canonical_check(), canonical_shape());
  other.exec_params(
      "INSERT INTO answer_set_counters (domain_id, answer_set_id, first_seen, last_seen, "
      "times_seen, min_ttl) VALUES ($1, $2, $3, $3, 1, 300)",
      flux_, canonical_id(), "2026-11-22 09:00:00+00");
  std::thread writer([&] { EXPECT_NO_THROW(store({a_probe(kT0, {"127.1.0.1"}, 300)})); });
  const auto deadline = steady_clock::now() + 30s;
  while (number(dsn_,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                "wait_event_type = 'Lock' AND query LIKE '%INSERT INTO addresses%'") == 0 &&
         steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  other.commit();
  writer.join();
  EXPECT_EQ(text(dsn_,
                 "SELECT format('%s %s %s %s', first_seen, last_seen, times_seen, min_ttl) "
                 "FROM answer_sets"),
            "2026-11-22 09:00:00+00 2026-11-22 10:00:00+00 2 300");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM addresses"), 1);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 1);
  EXPECT_EQ(text(dsn_, "SELECT string_agg(rtype || ' ' || ttl, ',' ORDER BY rtype) FROM records"),
            "A 300,CNAME 3600");
}

TEST_F(AnswerSetStoreTest, SetsAnotherWriterStoredSinceTheSnapshotAreStoredOnceAndCountedOnce) {
  // Both writers share the process's snapshot (read at this writer's first batch: no sets).
  // The other writer then stores a set this one thinks new: its COPY of the set meets the
  // stored key, the savepoint undoes it, the set is learnt, the probe counted once. From then
  // on this writer looks its new sets up first.
  store({a_probe(kT0, {"127.1.0.9"}, 300)});
  Database second(dsn_);
  const auto probe_of = [&](Database& db, system_clock::time_point at, const char* address) {
    db.store(ProbeBatch{0, {a_probe(at, {address}, 300)}, {}, ""});
  };
  probe_of(second, kT0 + 1min, "127.1.0.1");
  probe_of(db_, kT0 + 2min, "127.1.0.1");
  probe_of(second, kT0 + 3min, "127.1.0.2");
  store({a_probe(kT0 + 4min, {"127.1.0.2"}, 300), a_probe(kT0 + 5min, {"127.1.0.3"}, 300)});
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(format('%s %s %s', host(address), times_seen, last_seen), "
                 "', ' ORDER BY address) FROM domain_addresses"),
            "127.1.0.1 2 2026-11-22 10:02:00+00, 127.1.0.2 2 2026-11-22 10:04:00+00, "
            "127.1.0.3 1 2026-11-22 10:05:00+00, 127.1.0.9 1 2026-11-22 10:00:00+00");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM answer_set_contents"), 4);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 6);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations WHERE ttl IS NULL"), 6)
      << "every probe's TTL is its set's own, as the writer learnt it";
}

TEST_F(AnswerSetStoreTest, AwkwardRecordTextReadsBackFromThePackedArrays) {
  // Binary COPY of the packed arrays: quotes, backslashes, commas, braces, the word NULL and
  // empty data (a NULL element) in the set's own records and in its shared part.
  auto probe = a_probe(kT0, {"127.1.0.1"}, 300);
  probe.records.push_back(
      ResourceRecord{Section::Answer, "flux.test", 16, 300, R"("a \"quoted\" \\ {b,c}")"});
  probe.records.push_back(ResourceRecord{Section::Answer, "flux.test", 16, 300, "NULL"});
  probe.records.push_back(ResourceRecord{Section::Answer, "x,{y}.flux.test", 16, 300, ""});
  probe.records.push_back(ResourceRecord{Section::Authority, "te\\st", 6, 60,
                                         R"(ns."q".test. host\master.test. 1 2 3 4 5)"});
  store({probe});
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(format('%s|%s|%s|%s|%s', section, owner, rtype, "
                 "coalesce(host(address), '-'), coalesce(target, '<null>')), E'\\n' ORDER BY ord) "
                 "FROM answer_set_records"),
            "answer|flux.test|A|127.1.0.1|<null>\n"
            "answer|www.flux.test|CNAME|-|flux.test\n"
            "answer|flux.test|TXT|-|\"a \\\"quoted\\\" \\\\ {b,c}\"\n"
            "answer|flux.test|TXT|-|NULL\n"
            "answer|x,{y}.flux.test|TXT|-|<null>\n"
            "authority|te\\st|SOA|-|ns.\"q\".test. host\\master.test. 1 2 3 4 5");
}

TEST_F(AnswerSetStoreTest, AStoredSetsCountersAreAddedInPlaceAfterAnotherWritersCommit) {
  // The set is stored (this writer knows it): its counters take the UPDATE path, which waits
  // for another writer's uncommitted update of the same row and adds to that writer's values.
  store({a_probe(kT0, {"127.1.0.1"}, 300)});
  pqxx::connection other_connection(dsn_);
  pqxx::work other(other_connection);
  other.exec(
      "UPDATE answer_set_counters SET times_seen = times_seen + 10, "
      "last_seen = '2026-11-22 11:00:00+00'");
  std::thread writer(
      [&] { EXPECT_NO_THROW(store({a_probe(kT0 + 1min, {"127.1.0.1"}, 250, 3550)})); });
  const auto deadline = steady_clock::now() + 30s;
  while (number(dsn_,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
                "query LIKE '%UPDATE answer_set_counters%'") == 0 &&
         steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  other.commit();
  writer.join();
  EXPECT_EQ(text(dsn_,
                 "SELECT format('%s %s %s %s', first_seen, last_seen, times_seen, min_ttl) "
                 "FROM answer_sets"),
            "2026-11-22 10:00:00+00 2026-11-22 11:00:00+00 12 250");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 2);
}

TEST_F(AnswerSetStoreTest, AKnownSetWhoseCountersRowIsGoneIsCountedAgain) {
  // Nothing deletes counters rows; if one is gone anyway, the writer (which knows the set)
  // must not lose the batch's probe: its UPDATE finds no row, and the upsert inserts it. A
  // batch with a new set takes the upsert for all its sets.
  store({a_probe(kT0, {"127.1.0.1"}, 300)});
  EXPECT_EQ(write(dsn_,
                  "WITH d AS (DELETE FROM answer_set_counters RETURNING 1) "
                  "SELECT count(*) FROM d"),
            "1");
  store({a_probe(kT0 + 1min, {"127.1.0.1"}, 250, 3550)});
  store({a_probe(kT0 + 2min, {"127.1.0.1"}, 240, 3540), a_probe(kT0 + 3min, {"127.1.0.2"}, 300)});
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(format('%s %s %s %s', first_seen, last_seen, times_seen, "
                 "min_ttl), ',' ORDER BY first_seen) FROM answer_sets"),
            "2026-11-22 10:01:00+00 2026-11-22 10:02:00+00 2 240,"
            "2026-11-22 10:03:00+00 2026-11-22 10:03:00+00 1 300");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 4);
}

TEST_F(AnswerSetStoreTest, TheZonesPartIsStoredOnceForEveryDomainThatGetsIt) {
  // Two domains of one zone: their own A records, the zone's NS set and glue (same for
  // both, with other TTLs relative to the answer), and once the same answer counted down.
  const auto with_zone = [&](ProbeResult probe, std::uint32_t ns_ttl) {
    probe.records.push_back(ResourceRecord{Section::Authority, "test", 2, ns_ttl, "ns.test"});
    probe.records.push_back(
        ResourceRecord{Section::Additional, "ns.test", 1, ns_ttl, "127.0.0.53"});
    return probe;
  };
  auto other = a_probe(kT0, {"127.1.0.7"}, 60);
  other.domain_id = other_;
  other.name = "other.test";
  store({with_zone(a_probe(kT0, {"127.1.0.1", "127.1.0.2"}, 300), 86400), with_zone(other, 7200)});
  store({with_zone(a_probe(kT0 + 1min, {"127.1.0.1", "127.1.0.2"}, 240, 3540), 86340)});
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM shared_parts"), 1);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM answer_set_contents"), 2);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM addresses"), 4);
  // Every record of every probe with its section, owner and TTL, as the probe saw it.
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(format('%s %s %s %s %s', p.qname, r.section, r.owner, "
                 "r.rtype, r.ttl), ', ' ORDER BY p.sent_at, p.qname, r.section, r.rtype, "
                 "r.owner, r.address) FROM records r JOIN probes p USING (probe_id)"),
            "flux.test additional ns.test A 86400, flux.test answer flux.test A 300, "
            "flux.test answer flux.test A 300, flux.test answer www.flux.test CNAME 3600, "
            "flux.test authority test NS 86400, "
            "other.test additional ns.test A 7200, other.test answer flux.test A 60, "
            "other.test answer www.flux.test CNAME 3600, other.test authority test NS 7200, "
            "flux.test additional ns.test A 86340, flux.test answer flux.test A 240, "
            "flux.test answer flux.test A 240, flux.test answer www.flux.test CNAME 3540, "
            "flux.test authority test NS 86340");
  // Only answer-section addresses count for the domains.
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(domain || ' ' || host(address) || ' ' || times_seen, ', ' "
                 "ORDER BY domain, address) FROM domain_addresses"),
            "flux.test 127.1.0.1 2, flux.test 127.1.0.2 2, other.test 127.1.0.7 1");
}

TEST_F(AnswerSetStoreTest, AnAddressIsLookedUpThroughTheIndexes) {
  store({a_probe(kT0, {"127.1.0.1", "127.1.0.2"}, 300)});
  // With sequential scans priced out, the plan shows the path the view allows: the
  // address's id (addresses), then the sets holding it (GIN on address_ids).
  pqxx::connection connection(dsn_);
  pqxx::work tx(connection);
  tx.exec("SET LOCAL enable_seqscan = off");
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN SELECT domain, first_seen, times_seen FROM "
                                 "domain_addresses WHERE address = '127.1.0.2'")) {
    plan += row[0].as<std::string>() + "\n";
  }
  EXPECT_NE(plan.find("addresses_address_key"), std::string::npos) << plan;
  EXPECT_NE(plan.find("answer_set_contents_address_idx"), std::string::npos) << plan;
}

TEST_F(AnswerSetStoreTest, SetsArePerDomainAndEmptyAnswersHaveNone) {
  auto other = a_probe(kT0, {"127.1.0.1"}, 300);
  other.domain_id = other_;
  auto unwatched = a_probe(kT0, {"127.1.0.1"}, 300);
  unwatched.domain_id = 0;
  unwatched.name = "ns1.elsewhere.test";
  auto timeout = a_probe(kT0, {}, 0);
  timeout.records.clear();
  timeout.outcome = Outcome::Timeout;
  timeout.rcode = -1;
  store({a_probe(kT0, {"127.1.0.1"}, 300), other, unwatched, timeout});
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(domain_id::text, ',' ORDER BY domain_id) FROM "
                 "answer_sets"),
            "0," + std::to_string(flux_) + "," + std::to_string(other_));
  EXPECT_EQ(text(dsn_, "SELECT count(*) FROM observations WHERE answer_set_id IS NULL"), "1");
  EXPECT_EQ(text(dsn_, "SELECT count(*) FROM records"), "6");
  EXPECT_EQ(text(dsn_, "SELECT count(*) FROM domain_address_seen"), "2");  // watched only
}

TEST_F(AnswerSetStoreTest, PartitionsAreCreatedAheadAndPruneDropsWholeOldDays) {
  const auto day = [](int offset) { return kT0 + days(offset); };
  store({a_probe(day(-10), {"127.1.0.9"}, 300), a_probe(day(-5), {"127.1.0.1"}, 300)});
  store({a_probe(day(0), {"127.1.0.1"}, 300)});
  EXPECT_EQ(text(dsn_,
                 "SELECT string_agg(relname::text, ',' ORDER BY relname) FROM pg_class "
                 "WHERE relname LIKE 'observations_p%' AND relkind = 'r'"),
            "observations_p20261112,observations_p20261113,observations_p20261117,"
            "observations_p20261118,observations_p20261122,observations_p20261123");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations_default"), 0);

  // Seven days kept, asked at kT0: the days ending by 2026-11-15 10:00 go.
  const auto would = db_.prune(7, true, kT0);
  ASSERT_EQ(would.size(), 2U);
  EXPECT_EQ(would[0].day, "2026-11-12");
  EXPECT_EQ(would[0].probes, 1);
  EXPECT_GT(would[0].bytes, 0);
  EXPECT_EQ(would[1].day, "2026-11-13");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 3) << "a dry run drops nothing";

  EXPECT_EQ(db_.prune(7, false, kT0), would);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations"), 2);
  EXPECT_TRUE(db_.prune(7, false, kT0).empty());
  // The summaries stay: the pruned day's address and its answer set.
  EXPECT_EQ(text(dsn_, "SELECT first_seen FROM domain_addresses WHERE address = '127.1.0.9'"),
            "2026-11-12 10:00:00+00");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM answer_sets"), 2);

  // A late write for the dropped day (this writer believes its partition exists) is not
  // lost: the default partition takes it, and a new partition of that day moves it there.
  store({a_probe(day(-10) + 1h, {"127.1.0.9"}, 300)});
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations_default"), 1);
  EXPECT_EQ(write(dsn_, "SELECT fluxwatch_create_observation_partition('2026-11-12')"), "t");
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations_default"), 0);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM observations_p20261112"), 1);
  EXPECT_THROW(db_.prune(0, true, kT0), Error);
}

TEST_F(AnswerSetStoreTest, PruneDropsTheProbeContextsOfRunsThatEndedBeforeTheDaysKept) {
  // Three runs: one finished long before the days kept, one finished within them, one never
  // finished (interrupted). Each stores one probe on its own day.
  const auto day = [](int offset) { return kT0 + days(offset); };
  const auto run = [&](int offset, const char* finished) {
    const auto id = db_.begin_run("probe", "{}");
    db_.store(ProbeBatch{id, {a_probe(day(offset), {"127.1.0.1"}, 300)}, {}, ""});
    write(dsn_, fmt::format("UPDATE probe_runs SET finished_at = {} WHERE run_id = {} "
                            "RETURNING run_id",
                            finished, id));
    return id;
  };
  const auto old_run = run(-20, "'2026-11-02 11:00+00'");
  const auto kept_run = run(-6, "'2026-11-16 11:00+00'");
  const auto open_run = run(-19, "NULL");
  ASSERT_EQ(number(dsn_, "SELECT count(*) FROM probe_contexts"), 3);
  ASSERT_FALSE(db_.prune(7, true, kT0).empty());
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM probe_contexts"), 3) << "a dry run drops nothing";
  // Seven days kept at kT0: observations from 2026-11-15 00:00 stay, so do the contexts of
  // runs that finished from 2026-11-14 00:00 (a day for clocks that disagree).
  db_.prune(7, false, kT0);
  EXPECT_EQ(text(dsn_, "SELECT string_agg(run_id::text, ',' ORDER BY run_id) FROM probe_contexts"),
            fmt::format("{},{}", std::min(kept_run, open_run), std::max(kept_run, open_run)));
  EXPECT_EQ(number(dsn_, fmt::format("SELECT count(*) FROM probes WHERE run_id = {}", old_run)), 0);
  // Every probe left still has its context.
  EXPECT_EQ(number(dsn_,
                   "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM "
                   "probe_contexts c WHERE c.context_id = o.context_id)"),
            0);
  EXPECT_EQ(number(dsn_, "SELECT count(*) FROM probes"), 1);
}

}  // namespace
}  // namespace fluxwatch::storage
