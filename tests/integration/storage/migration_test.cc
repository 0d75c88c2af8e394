// Migrations 0009, 0013 and 0015 in place (issue 12): a database at schema 8 holding the
// lab's history is upgraded with migrate() to schema 12, then 14, then to the current schema; every
// documented view, the probes/records views and every query of docs/queries.md give exactly
// the same rows before and after each step, and every observation is still there. The schema-8
// history is the lab's, probed by the real fluxwatch binary into a current database and copied into
// the schema-8 tables (with dblink), plus hand-written rows for what the lab does not give
// (authoritative and delegation probes, TTLs that count down unevenly, IPv6, odd record types,
// duplicate records).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "fluxwatch/storage/database.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using testing::CommandResult;

/// Every view researchers read (docs/queries.md), and the old tables as views.
const std::vector<std::string> kViews = {"answers",
                                         "domain_addresses",
                                         "address_info",
                                         "ns_set_history",
                                         "soa_serial_history",
                                         "authoritative_answer_sets",
                                         "authoritative_disagreement",
                                         "latest_scores",
                                         "score_history",
                                         "http_same_body_addresses",
                                         "http_connect_time_spread",
                                         "watchlist_delisted",
                                         "probes",
                                         "records"};

/// Tables copied from the probed database into the schema-8 one, in foreign-key order.
const std::vector<std::string> kTables = {"watchlist",   "probe_runs", "geo_builds",
                                          "address_geo", "score_runs", "domain_scores",
                                          "probes",      "records"};

std::vector<std::string> rows_of(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::work tx(connection);
  std::vector<std::string> rows;
  for (const auto& row : tx.exec("SELECT q::text FROM (" + sql + ") q")) {
    rows.push_back(row[0].as<std::string>());
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::int64_t scalar(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::work tx(connection);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

void exec(const std::string& dsn, const std::string& sql) {
  pqxx::connection connection(dsn);
  pqxx::work tx(connection);
  tx.exec(sql);
  tx.commit();
}

/// What a researcher sees: every view and every documented query, sorted rows each.
std::map<std::string, std::vector<std::string>> snapshot(const std::string& dsn) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& view : kViews) {
    out["view " + view] = rows_of(dsn, "SELECT * FROM " + view);
  }
  for (const auto& [name, sql] : testing::doc_queries()) {
    std::string query = sql;
    while (!query.empty() && (query.back() == '\n' || query.back() == ';' || query.back() == ' ')) {
      query.pop_back();
    }
    out["query " + name] = rows_of(dsn, query);
  }
  return out;
}

// Rows the lab does not produce, in the schema-8 tables: an authoritative SOA round where the
// servers disagree, a delegation NS lookup answered by a referral, TTLs counting down unevenly
// (CNAME and A cached at different times), IPv6, a TYPE99 record and a duplicate record.
constexpr const char* kHandWrittenV8Rows = R"sql(
INSERT INTO probes (probe_id, run_id, domain_id, qname, qtype, resolver, sent_at, latency_us,
                    outcome, rcode, via_tcp, detail, authoritative, due_at, campaign, vantage,
                    mode, server_name)
SELECT 900000000 + n, NULL, w.domain_id, w.domain, q.qtype, q.resolver,
       '2026-11-20 10:00:00+00'::timestamptz + n * interval '1 minute', 1000 + n, 'NOERROR', 0,
       false, NULL, true, '2026-11-20 10:00:00+00', 'camp', 'v1', q.mode, q.server_name
FROM (SELECT domain_id, domain FROM watchlist ORDER BY domain_id LIMIT 1) w,
     (VALUES (1, 'SOA', '127.0.0.1:53', 'authoritative', 'ns1.x.test'),
             (2, 'SOA', '127.0.0.2:53', 'authoritative', 'ns2.x.test'),
             (3, 'NS', '127.0.0.3:53', 'delegation', NULL),
             (4, 'A', '127.0.0.4:53', 'recursive', NULL),
             (5, 'A', '127.0.0.4:53', 'recursive', NULL),
             (6, 'AAAA', '127.0.0.4:53', 'recursive', NULL)) AS q(n, qtype, resolver, mode,
                                                                server_name);
INSERT INTO records (probe_id, section, owner, rtype, ttl, address, target)
SELECT 900000000 + n, section, owner, rtype, ttl, address::inet, target
FROM (VALUES
  (1, 'answer', 'x.test', 'SOA', 3600, NULL, 'ns1.x.test hostmaster.x.test 2026112001 7200 900 1209600 300'),
  (2, 'answer', 'x.test', 'SOA', 3600, NULL, 'ns1.x.test hostmaster.x.test 2026112002 7200 900 1209600 300'),
  (3, 'authority', 'x.test', 'NS', 172800, NULL, 'ns1.x.test'),
  (3, 'authority', 'x.test', 'NS', 172800, NULL, 'ns2.x.test'),
  (3, 'additional', 'ns1.x.test', 'A', 172800, '127.0.0.1', NULL),
  (4, 'answer', 'www.x.test', 'CNAME', 3000, NULL, 'x.test'),
  (4, 'answer', 'x.test', 'A', 60, '127.9.9.9', NULL),
  (4, 'answer', 'x.test', 'A', 60, '127.9.9.9', NULL),
  (4, 'additional', 'x.test', 'TYPE99', 60, NULL, '\# 2 abcd'),
  (5, 'answer', 'www.x.test', 'CNAME', 2950, NULL, 'x.test'),
  (5, 'answer', 'x.test', 'A', 30, '127.9.9.9', NULL),
  (5, 'answer', 'x.test', 'A', 30, '127.9.9.9', NULL),
  (5, 'additional', 'x.test', 'TYPE99', 55, NULL, '\# 2 abcd'),
  (6, 'answer', 'x.test', 'AAAA', 300, '2001:db8::1', NULL),
  (6, 'answer', 'x.test', 'AAAA', 300, '2001:db8::a:0:0:1', NULL))
  AS r(n, section, owner, rtype, ttl, address, target);
)sql";

class MigrationTest : public ::testing::Test {
 protected:
  CommandResult fluxwatch(const std::vector<std::string>& args) {
    return testing::run_fluxwatch(config_, probed_.dsn(), args);
  }
  void must(const CommandResult& result) {
    ASSERT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err;
  }

  testing::ScratchDatabase probed_;  ///< the lab probed by the current fluxwatch
  testing::ScratchDatabase old_;     ///< schema 8, then upgraded
  std::string config_ = testing::write_lab_config("migration");
};

TEST_F(MigrationTest, SchemaEightUpgradesInPlaceWithEveryObservationAndView) {
  // The lab's history: two rounds of A, AAAA and NS, timeouts, a score run.
  must(fluxwatch({"init"}));
  must(fluxwatch({"watchlist", "import",
                  (testing::source_dir() / "deploy/lab/watchlist.txt").string(), "--source",
                  "lab"}));
  must(fluxwatch({"probe", "--rounds", "2", "--types", "A,AAAA,NS", "--progress", "never"}));
  // Every query fails: stored as measured, the resolver reported dead (exit status 3).
  const auto silent =
      fluxwatch({"probe", "--resolver", testing::lab_blackhole().to_string(), "--types", "A",
                 "--timeout-ms", "200", "--tries", "1", "--progress", "never"});
  ASSERT_EQ(silent.exit_code, 3) << silent.err;
  must(fluxwatch({"score"}));

  // The same history in a database at schema 8.
  storage::Database old_db(old_.dsn());
  ASSERT_EQ(old_db.migrate(8), 8);
  ASSERT_EQ(old_db.schema_version(), 8);
  exec(old_.dsn(), "CREATE EXTENSION IF NOT EXISTS dblink");
  {
    pqxx::connection connection(old_.dsn());
    pqxx::work tx(connection);
    for (const auto& table : kTables) {
      // Schema 8's columns of the table (later migrations add columns, e.g. watchlist's
      // removed_at), read from the probed database as one row text, read back as the
      // same-named row type of schema 8.
      const auto columns =
          tx.exec_params1(
                "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) "
                "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
                table)[0]
              .as<std::string>();
      const auto remote =
          fmt::format("SELECT ROW({})::text FROM {} t", columns, tx.quote_name(table));
      tx.exec_params(fmt::format("INSERT INTO {0} OVERRIDING SYSTEM VALUE SELECT (x.t::{0}).* "
                                 "FROM dblink($1, $2) AS x(t text)",
                                 tx.quote_name(table)),
                     probed_.dsn(), remote);
    }
    tx.exec(kHandWrittenV8Rows);
    tx.commit();
  }
  exec(old_.dsn(), "DROP EXTENSION dblink");
  const auto probes = scalar(old_.dsn(), "SELECT count(*) FROM probes");
  ASSERT_GT(probes, 200);
  const auto by_section = rows_of(old_.dsn(),
                                  "SELECT section, rtype, count(*), sum(ttl) FROM records "
                                  "GROUP BY section, rtype");
  const auto before = snapshot(old_.dsn());
  for (const auto& view :
       {"view answers", "view ns_set_history", "view soa_serial_history",
        "view authoritative_disagreement", "view domain_addresses", "view latest_scores"}) {
    EXPECT_FALSE(before.at(view).empty()) << view << " would compare nothing";
  }

  // The upgrade to schema 12 (0009's answer sets), as `fluxwatch init` of that version did.
  ASSERT_EQ(old_db.migrate(12), 4);
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM observations"), probes);
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM observations_default"), 0)
      << "every day of the history has its partition";
  const auto at_twelve = snapshot(old_.dsn());
  for (const auto& [name, rows] : before) {
    EXPECT_EQ(at_twelve.at(name), rows) << name << " changed in the upgrade to schema 12";
  }
  // Retention at schema 12 dropped probes whose summary stays: one address seen more often
  // and earlier than the probes still stored say, one address only the pruned probes saw.
  exec(old_.dsn(), R"sql(
    UPDATE domain_address_seen SET times_seen = times_seen + 7,
           first_seen = first_seen - interval '40 days'
    WHERE (domain_id, address) = (SELECT domain_id, address FROM domain_address_seen
                                  ORDER BY domain_id, address LIMIT 1);
    INSERT INTO domain_address_seen (domain_id, address, first_seen, last_seen, times_seen,
                                     min_ttl)
    SELECT min(domain_id), '127.77.0.1', '2026-09-01', '2026-09-02', 3, 60 FROM watchlist)sql");
  const auto pruned_at_twelve = snapshot(old_.dsn());

  // The upgrade to schema 14 (0013's narrow rows and summary per answer set, 0014's SOA
  // fields), as `fluxwatch init` of that version did it.
  ASSERT_EQ(old_db.migrate(14), 2);
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM observations"), probes);
  const auto at_fourteen = snapshot(old_.dsn());
  for (const auto& [name, rows] : pruned_at_twelve) {
    EXPECT_EQ(at_fourteen.at(name), rows) << name << " changed in the upgrade to schema 14";
  }
  const auto sets_at_fourteen = rows_of(old_.dsn(), "SELECT * FROM answer_sets");
  const auto set_records_at_fourteen = rows_of(old_.dsn(), "SELECT * FROM answer_set_records");

  // The upgrade to the current schema (0015's packed sets, shared parts and address ids),
  // as `fluxwatch init` does it.
  const int applied = old_db.migrate();
  EXPECT_GE(applied, 1);
  // (Versions may skip numbers: each engineer of a round numbers migrations in a range.)
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM schema_migrations WHERE version > 14"),
            applied);
  EXPECT_GT(old_db.schema_version(), 14);
  EXPECT_EQ(rows_of(old_.dsn(), "SELECT * FROM answer_sets"), sets_at_fourteen);
  EXPECT_EQ(rows_of(old_.dsn(), "SELECT * FROM answer_set_records"), set_records_at_fourteen);
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM answer_set_contents"),
            scalar(old_.dsn(), "SELECT count(*) FROM answer_set_counters"));
  EXPECT_LT(scalar(old_.dsn(), "SELECT count(*) FROM shared_parts"),
            scalar(old_.dsn(),
                   "SELECT count(*) FROM answer_set_contents WHERE shared_id IS "
                   "NOT NULL"))
      << "the zones' parts are shared";
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM observations"), probes);
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM observations_default"), 0)
      << "every day of the history has its partition";
  EXPECT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM domain_address_seen_carried"), 2)
      << "only what the pruned probes added is carried over";
  EXPECT_EQ(
      rows_of(old_.dsn(),
              "SELECT section, rtype, count(*), sum(ttl) FROM records GROUP BY section, rtype"),
      by_section);
  // The lab's flux names answer anew each round; the stable ones and the timeouts repeat.
  EXPECT_LT(scalar(old_.dsn(), "SELECT count(*) FROM answer_set_records"),
            scalar(old_.dsn(), "SELECT count(*) FROM records") * 2 / 3)
      << "repeated answers are stored once";
  EXPECT_GT(scalar(old_.dsn(), "SELECT count(*) FROM observations WHERE ttls IS NOT NULL"), 0)
      << "the uneven countdown keeps its TTLs";
  EXPECT_GT(scalar(old_.dsn(), "SELECT count(*) FROM observations WHERE qname IS NULL"), probes / 2)
      << "a watched domain's own name is not stored again";
  const auto after = snapshot(old_.dsn());
  for (const auto& [name, rows] : pruned_at_twelve) {
    EXPECT_EQ(after.at(name), rows) << name << " changed in the upgrade";
  }

  // The report counts each domain's addresses as the documented view lists them, the ones
  // only the pruned probes saw (carried over by 0013) included, with their ASNs, countries
  // and smallest TTL.
  std::map<std::string, std::string> expected_counts;
  for (const auto& row : rows_of(old_.dsn(), R"sql(
      SELECT d.domain || ' ' || count(DISTINCT d.address) FILTER (WHERE family(d.address) = 4)
             || ' ' || count(DISTINCT d.address) FILTER (WHERE family(d.address) = 6)
             || ' ' || count(DISTINCT g.asn) || ' ' || count(DISTINCT g.country) || ' '
             || coalesce(min(d.min_ttl)::text, '-')
      FROM domain_addresses d LEFT JOIN address_geo g ON g.address = d.address
      GROUP BY d.domain)sql")) {
    const auto text = row.substr(2, row.size() - 4);  // ("...") of the one-column row
    expected_counts[text.substr(0, text.find(' '))] = text;
  }
  ASSERT_EQ(scalar(old_.dsn(), "SELECT count(*) FROM domain_address_seen_carried"), 2);
  std::size_t with_addresses = 0;
  for (const auto& summary : old_db.summaries()) {
    const auto got =
        fmt::format("{} {} {} {} {} {}", summary.domain, summary.ipv4_addresses,
                    summary.ipv6_addresses, summary.asns, summary.countries,
                    summary.min_ttl ? std::to_string(*summary.min_ttl) : std::string("-"));
    if (const auto found = expected_counts.find(summary.domain); found != expected_counts.end()) {
      EXPECT_EQ(got, found->second);
      ++with_addresses;
    } else {
      EXPECT_EQ(got, summary.domain + " 0 0 0 0 -");
    }
  }
  EXPECT_EQ(with_addresses, expected_counts.size());

  // The C++ writer and the SQL of the migration agree: the probed database (written by the
  // writer) shows the lab's rows exactly as the migrated one, with the same answer sets.
  const std::string lab_only = " WHERE probe_id < 900000000";
  EXPECT_EQ(rows_of(probed_.dsn(), "SELECT * FROM records"),
            rows_of(old_.dsn(), "SELECT * FROM records" + lab_only));
  EXPECT_EQ(rows_of(probed_.dsn(), "SELECT * FROM probes"),
            rows_of(old_.dsn(), "SELECT * FROM probes" + lab_only));
  EXPECT_EQ(rows_of(probed_.dsn(),
                    "SELECT domain_id, answer_set_id, digest_check, ttl_shape FROM "
                    "answer_sets"),
            rows_of(old_.dsn(),
                    "SELECT domain_id, answer_set_id, digest_check, ttl_shape FROM "
                    "answer_sets WHERE first_seen > '2026-11-21'"));
  // The summary the writer kept batch by batch is the one the migration summed up (the
  // hand-written rows and the pruned history are the first domain's).
  const std::string lab_domains = " WHERE domain_id <> (SELECT min(domain_id) FROM watchlist)";
  EXPECT_EQ(rows_of(probed_.dsn(), "SELECT * FROM domain_address_seen" + lab_domains),
            rows_of(old_.dsn(), "SELECT * FROM domain_address_seen" + lab_domains));
  EXPECT_EQ(rows_of(probed_.dsn(),
                    "SELECT domain_id, answer_set_id, first_seen, last_seen, times_seen, "
                    "min_ttl, min_ttls FROM answer_sets" +
                        lab_domains),
            rows_of(old_.dsn(),
                    "SELECT domain_id, answer_set_id, first_seen, last_seen, times_seen, "
                    "min_ttl, min_ttls FROM answer_sets" +
                        lab_domains + " AND first_seen > '2026-11-21'"));
}

}  // namespace
}  // namespace fluxwatch
