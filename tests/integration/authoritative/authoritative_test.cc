// Authoritative mode (`probe --authoritative`, campaign `mode: authoritative`) and the
// every-resolver mode (`probe --every-resolver`, campaign `resolver_mode: every`) against
// the lab's delegation fixtures (deploy/lab: deleg.test) and a real PostgreSQL. Every
// assertion reads what was stored: probes, records and the researchers' views.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "support/test_env.h"

namespace fluxwatch {
namespace {

using ::testing::HasSubstr;

/// True when the machine has ::1 (the lab then serves on [::1]:port too).
bool have_ipv6_loopback() {
  std::ifstream in("/proc/net/if_inet6");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("00000000000000000000000000000001 ", 0) == 0) {
      return true;
    }
  }
  return false;
}

class AuthoritativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("fluxwatch-auth-{}-{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    port_ = std::to_string(testing::lab_server().port);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Config: the lab as resolver, short timeouts (the dead name server costs 1.5 s), the
  /// lab's port for name servers, and `extra` YAML.
  void configure(const std::string& extra = {}) {
    config_ = (dir_ / "config.yaml").string();
    std::ofstream(config_) << fmt::format(
        "resolvers: [\"{}\"]\n"
        "probe: {{timeout_ms: 500, tries: 2, concurrency: 100, record_types: [A],"
        " authoritative_port: {}}}\n{}",
        testing::lab_server().to_string(), port_, extra);
  }

  testing::CommandResult fluxwatch(const std::vector<std::string>& args) const {
    return testing::run_fluxwatch(config_, db_.dsn(), args);
  }

  void import(const std::string& lines) {
    const auto path = dir_ / "watchlist.txt";
    std::ofstream(path) << lines;
    const auto init = fluxwatch({"init"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    const auto imported = fluxwatch({"watchlist", "import", path.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  pqxx::result query(const std::string& sql) const {
    pqxx::connection connection(db_.dsn());
    pqxx::work tx(connection);
    return tx.exec(sql);
  }
  long scalar(const std::string& sql) const { return query(sql)[0][0].as<long>(); }
  std::string text(const std::string& sql) const {
    const auto rows = query(sql);
    return rows.empty() || rows[0][0].is_null() ? "" : rows[0][0].as<std::string>();
  }
  /// The address:port the lab's deleg.test gives for a name server (as stored from the
  /// delegation lookups: glue/additional data or an A lookup), e.g. "127.0.53.1:5380".
  std::string server_of(const std::string& ns_name) const {
    return text(
        fmt::format("SELECT host(r.address) || ':{}' FROM probes p JOIN records r USING (probe_id) "
                    "WHERE p.mode = 'delegation' AND r.owner = '{}' AND r.rtype = 'A' LIMIT 1",
                    port_, ns_name));
  }

  testing::ScratchDatabase db_;
  std::filesystem::path dir_;
  std::string config_;
  std::string port_;
};

TEST_F(AuthoritativeTest, ProbeAuthoritativeStoresServersNsSetsSerialsLameAndTimeouts) {
  configure();
  import(
      "agree.deleg.test\ndisagree.deleg.test\nlame.deleg.test\ndead.deleg.test\n"
      "www.agree.deleg.test\n");
  const auto run = fluxwatch({"probe", "--authoritative", "--rounds", "2", "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("authoritative mode"));
  EXPECT_EQ(scalar("SELECT count(DISTINCT run_id) FROM probes"), 2);

  const std::string ns_a = server_of("ns-a.deleg.test");
  const std::string ns_b = server_of("ns-b.deleg.test");
  const std::string ns_dead = server_of("ns-dead.deleg.test");
  ASSERT_FALSE(ns_a.empty());
  ASSERT_FALSE(ns_b.empty());
  ASSERT_FALSE(ns_dead.empty());
  ASSERT_NE(ns_a, ns_b);

  // RD=0 answers from each name server, stored with its address and NS name, AA set.
  const auto agree = query(
      "SELECT p.resolver, p.server_name, p.outcome::text, p.authoritative, p.run_id "
      "FROM probes p JOIN watchlist w USING (domain_id) WHERE w.domain = 'agree.deleg.test' "
      "AND p.mode = 'authoritative' AND p.qtype = 'A' ORDER BY p.run_id, p.server_name");
  ASSERT_EQ(agree.size(), 4U);  // 2 servers x 2 rounds
  for (const auto& row : agree) {
    EXPECT_EQ(row[2].as<std::string>(), "NOERROR");
    EXPECT_TRUE(row[3].as<bool>());
  }
  EXPECT_EQ(agree[0][0].as<std::string>(), ns_a);
  EXPECT_EQ(agree[0][1].as<std::string>(), "ns-a.deleg.test");
  EXPECT_EQ(agree[1][0].as<std::string>(), ns_b);
  EXPECT_EQ(agree[1][1].as<std::string>(), "ns-b.deleg.test");

  // Disagreement between the name servers is visible in SQL, per round; agreement is not.
  EXPECT_EQ(scalar("SELECT count(*) FROM authoritative_disagreement WHERE domain = "
                   "'disagree.deleg.test' AND qtype = 'A'"),
            2);
  EXPECT_EQ(scalar("SELECT count(*) FROM authoritative_disagreement WHERE domain IN "
                   "('agree.deleg.test', 'www.agree.deleg.test')"),
            0);
  const std::string by_server = text(
      "SELECT answers_by_server::text FROM authoritative_disagreement WHERE domain = "
      "'disagree.deleg.test' AND qtype = 'A' LIMIT 1");
  EXPECT_THAT(by_server, HasSubstr("ns-a.deleg.test " + ns_a));
  EXPECT_THAT(by_server, HasSubstr(".8.1"));
  EXPECT_THAT(by_server, HasSubstr(".8.3"));

  // The NS set with its TTL, and every server's SOA serial, on each of the two rounds.
  const auto ns_sets = query(
      "SELECT zone, array_to_string(ns_names, ' '), ttl, run_id FROM ns_set_history "
      "WHERE domain = 'agree.deleg.test' ORDER BY run_id");
  ASSERT_EQ(ns_sets.size(), 2U);
  for (const auto& row : ns_sets) {
    EXPECT_EQ(row[0].as<std::string>(), "agree.deleg.test");
    EXPECT_EQ(row[1].as<std::string>(), "ns-a.deleg.test ns-b.deleg.test");
    EXPECT_EQ(row[2].as<long>(), 300);
  }
  EXPECT_NE(ns_sets[0][3].as<long>(), ns_sets[1][3].as<long>());
  // www.agree.deleg.test is no zone apex: its zone is found (SOA in the NODATA answer).
  EXPECT_EQ(text("SELECT zone FROM ns_set_history WHERE domain = 'www.agree.deleg.test' AND "
                 "zone IS NOT NULL LIMIT 1"),
            "agree.deleg.test");
  const auto serials = query(
      "SELECT run_id, string_agg(server_name || '=' || serial, ' ' ORDER BY server_name) "
      "FROM soa_serial_history WHERE domain = 'disagree.deleg.test' GROUP BY run_id "
      "ORDER BY run_id");
  ASSERT_EQ(serials.size(), 2U);
  for (const auto& row : serials) {
    EXPECT_EQ(row[1].as<std::string>(), "ns-a.deleg.test=2024010101 ns-b.deleg.test=2024010202");
  }
  EXPECT_EQ(scalar("SELECT count(DISTINCT serial) FROM soa_serial_history WHERE domain = "
                   "'agree.deleg.test'"),
            1);

  // Lame: ns-a gives a referral (no AA, RCODE 0), ns-b refuses (RCODE 5): both LAME.
  const auto lame = query(
      "SELECT p.server_name, p.rcode, p.authoritative FROM probes p JOIN watchlist w "
      "USING (domain_id) WHERE w.domain = 'lame.deleg.test' AND p.mode = 'authoritative' "
      "AND p.qtype = 'A' AND p.outcome = 'LAME' ORDER BY p.run_id, p.server_name");
  ASSERT_EQ(lame.size(), 4U);
  EXPECT_EQ(lame[0][0].as<std::string>(), "ns-a.deleg.test");
  EXPECT_EQ(lame[0][1].as<int>(), 0);
  EXPECT_FALSE(lame[0][2].as<bool>());
  EXPECT_EQ(lame[1][0].as<std::string>(), "ns-b.deleg.test");
  EXPECT_EQ(lame[1][1].as<int>(), 5);
  // ... and the NS set came from the referral's authority section.
  EXPECT_EQ(text("SELECT section FROM ns_set_history WHERE domain = 'lame.deleg.test' LIMIT 1"),
            "authority");

  // The dead name server: TIMEOUT with its address; the live one answered.
  EXPECT_EQ(scalar(fmt::format("SELECT count(*) FROM probes p JOIN watchlist w USING "
                               "(domain_id) WHERE w.domain = 'dead.deleg.test' AND p.mode = "
                               "'authoritative' AND p.resolver = '{}' AND p.outcome = 'TIMEOUT' "
                               "AND p.rcode IS NULL AND p.server_name = 'ns-dead.deleg.test'",
                               ns_dead)),
            4);  // A + SOA, 2 rounds
  EXPECT_EQ(scalar("SELECT count(*) FROM probes p JOIN watchlist w USING (domain_id) WHERE "
                   "w.domain = 'dead.deleg.test' AND p.mode = 'authoritative' AND "
                   "p.server_name = 'ns-a.deleg.test' AND p.outcome = 'NOERROR'"),
            4);
  // Nothing was asked of a name server with RD=1 via the recursive path: the resolver only
  // saw delegation lookups.
  EXPECT_EQ(scalar(fmt::format("SELECT count(*) FROM probes WHERE mode = 'delegation' AND "
                               "resolver <> '{}'",
                               testing::lab_server().to_string())),
            0);
}

TEST_F(AuthoritativeTest, EveryResolverAsksEachResolverSpreadAsksOne) {
  std::vector<std::string> resolvers{testing::lab_server().to_string(),
                                     fmt::format("127.0.53.1:{}", port_)};
  if (have_ipv6_loopback()) {
    resolvers.push_back(fmt::format("[::1]:{}", port_));
  }
  configure();
  import("agree.deleg.test\nbenign-news.test\nrr-shop.test\n");
  std::vector<std::string> every{"probe",    "--every-resolver", "--vantage",
                                 "lab-east", "--progress",       "never"};
  for (const auto& resolver : resolvers) {
    every.push_back("--resolver");
    every.push_back(resolver);
  }
  const auto run = fluxwatch(every);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto rows = query(
      "SELECT w.domain, string_agg(p.resolver, ' ' ORDER BY p.resolver), count(*), "
      "bool_and(p.vantage = 'lab-east'), bool_and(p.outcome = 'NOERROR') FROM probes p "
      "JOIN watchlist w USING (domain_id) GROUP BY w.domain ORDER BY w.domain");
  ASSERT_EQ(rows.size(), 3U);
  std::vector<std::string> sorted = resolvers;
  std::sort(sorted.begin(), sorted.end());
  std::string expected;
  for (const auto& resolver : sorted) {
    expected += (expected.empty() ? "" : " ") + resolver;
  }
  for (const auto& row : rows) {
    EXPECT_EQ(row[1].as<std::string>(), expected) << row[0].as<std::string>();
    EXPECT_EQ(row[2].as<std::size_t>(), resolvers.size());
    EXPECT_TRUE(row[3].as<bool>());
    EXPECT_TRUE(row[4].as<bool>()) << row[0].as<std::string>();
  }

  // Spread (the default): each name once, the resolvers taken in turn.
  std::vector<std::string> spread{"probe", "--progress", "never"};
  for (const auto& resolver : resolvers) {
    spread.push_back("--resolver");
    spread.push_back(resolver);
  }
  const long before = scalar("SELECT count(*) FROM probes");
  const auto again = fluxwatch(spread);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(scalar("SELECT count(*) FROM probes") - before, 3);
  EXPECT_EQ(scalar(fmt::format("SELECT count(DISTINCT resolver) FROM probes WHERE run_id = "
                               "(SELECT max(run_id) FROM probes)")),
            static_cast<long>(std::min<std::size_t>(3, resolvers.size())));
}

TEST_F(AuthoritativeTest, CampaignsInAuthoritativeAndEveryModes) {
  configure(
      fmt::format("campaigns:\n"
                  "  - name: auth\n    mode: authoritative\n    vantage: v-auth\n    tags: [a]\n"
                  "    min_interval: 3600\n    max_interval: 3600\n"
                  "  - name: snap\n    resolver_mode: every\n    vantage: v-snap\n    tags: [s]\n"
                  "    min_interval: 3600\n    max_interval: 3600\n"
                  "    resolvers: [\"{}\", \"127.0.53.1:{}\"]\n",
                  testing::lab_server().to_string(), port_));
  import(
      "disagree.deleg.test,a\nlame.deleg.test,a\n"
      "agree.deleg.test,s\nbenign-news.test,s\n");
  for (const std::string campaign : {"auth", "snap"}) {
    const auto run = fluxwatch({"run", "--once", "--campaign", campaign});
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
  // auth: the full authoritative round, scheduled (due_at, campaign, vantage stored).
  EXPECT_EQ(scalar("SELECT count(*) FROM probes WHERE campaign = 'auth' AND (due_at IS NULL "
                   "OR vantage <> 'v-auth')"),
            0);
  EXPECT_EQ(scalar("SELECT count(*) FROM authoritative_disagreement WHERE campaign = 'auth' "
                   "AND domain = 'disagree.deleg.test' AND qtype = 'A'"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM probes p JOIN watchlist w USING (domain_id) WHERE "
                   "p.campaign = 'auth' AND w.domain = 'lame.deleg.test' AND p.outcome = 'LAME'"),
            4);  // A and SOA at ns-a and ns-b
  EXPECT_EQ(scalar("SELECT count(*) FROM ns_set_history WHERE campaign = 'auth'"), 2);
  // snap: one probe per resolver per name, both with the same due_at (one moment).
  const auto rows = query(
      "SELECT w.domain, count(*), count(DISTINCT p.resolver), count(DISTINCT p.due_at), "
      "bool_and(p.vantage = 'v-snap') FROM probes p JOIN watchlist w USING (domain_id) "
      "WHERE p.campaign = 'snap' GROUP BY w.domain ORDER BY w.domain");
  ASSERT_EQ(rows.size(), 2U);
  for (const auto& row : rows) {
    EXPECT_EQ(row[1].as<long>(), 2) << row[0].as<std::string>();
    EXPECT_EQ(row[2].as<long>(), 2);
    EXPECT_EQ(row[3].as<long>(), 1);
    EXPECT_TRUE(row[4].as<bool>());
  }
}

}  // namespace
}  // namespace fluxwatch
