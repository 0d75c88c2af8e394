// `fluxwatch probe` against the misbehaving DNS server (tests/support/hostile_dns.py):
// one stored probe per hostile name, with the outcome hostile_cases.h expects, in a real
// PostgreSQL, and a run that ends (no hang).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "hostile_cases.h"
#include "support/hostile_dns.h"
#include "support/test_env.h"

namespace fluxwatch::crawler {
namespace {

using testing::HostileDnsServer;

TEST(HostileProbe, StoresOneOutcomePerHostileName) {
  const HostileDnsServer server;
  const testing::ScratchDatabase database;
  const std::string config = testing::write_lab_config("hostile");
  const auto fluxwatch = [&](const std::vector<std::string>& args, const std::string& input = {}) {
    const auto result = testing::run_fluxwatch(config, database.dsn(), args, input);
    EXPECT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err;
    return result;
  };
  std::string watchlist;
  for (const auto& expected : cases()) {
    watchlist += HostileDnsServer::name(expected.behaviour) + "\n";
  }
  fluxwatch({"init"});
  fluxwatch({"watchlist", "import", "-", "--source", "hostile"}, watchlist);
  const auto started = std::chrono::steady_clock::now();
  // One query at a time: queries in flight together share c-ares's one TCP connection to
  // the server, and tc-reset's reset would end tc-good's and big-tcp's too (see
  // docs/hostile-dns.md); hostile_test.cc covers the concurrent case.
  const auto probe = fluxwatch({"probe", "--resolver", server.endpoint().to_string(), "--types",
                                "A", "--timeout-ms", std::to_string(kTimeout.count()), "--tries",
                                std::to_string(kTries), "--no-recursion", "--concurrency", "1",
                                "--progress", "never"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
  // The round's log counts what c-ares dropped (13 replies, see hostile_test.cc) and the
  // EDNS fallback (noedns; tcp-noedns comes later and finds the server remembered).
  EXPECT_THAT(probe.err, ::testing::HasSubstr("13 replies matched no query in flight and were "
                                              "dropped; 1 query was asked again without EDNS0"));

  pqxx::connection connection(database.dsn());
  pqxx::work tx(connection);
  std::map<std::string, std::vector<std::string>> stored;  // name -> outcomes
  std::map<std::string, bool> via_tcp;
  for (const auto& row :
       tx.exec("SELECT w.domain, p.outcome::text, p.via_tcp, coalesce(p.detail, '') FROM probes p "
               "JOIN watchlist w USING (domain_id)")) {
    stored[row[0].as<std::string>()].push_back(row[1].as<std::string>());
    via_tcp[row[0].as<std::string>()] = row[2].as<bool>();
  }
  EXPECT_EQ(stored.size(), cases().size());
  for (const auto& expected : cases()) {
    const std::string name = HostileDnsServer::name(expected.behaviour);
    ASSERT_EQ(stored[name].size(), 1U) << name;
    EXPECT_EQ(stored[name][0], outcome_name(expected.outcome)) << name;
    EXPECT_EQ(via_tcp[name], expected.via_tcp) << name;
  }
  // The huge TTLs survive storage unchanged.
  const auto ttls = tx.exec_params(
      "SELECT r.ttl FROM records r JOIN probes p USING (probe_id) WHERE p.qname = $1 "
      "ORDER BY r.ttl",
      HostileDnsServer::name("huge-ttl"));
  ASSERT_EQ(ttls.size(), 2U);
  EXPECT_EQ(ttls[0][0].as<std::int64_t>(), 2147483648LL);
  EXPECT_EQ(ttls[1][0].as<std::int64_t>(), 4294967295LL);
  std::filesystem::remove(config);
}

}  // namespace
}  // namespace fluxwatch::crawler
