// The whole pipeline through the real executable: watchlist import -> c-ares against the
// lab's PowerDNS -> GeoIP/ASN from the lab's MMDBs -> PostgreSQL; then assertions on the
// stored rows. The lab is built so that each name has a known behaviour (deploy/lab).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <pqxx/pqxx>

#include "support/test_env.h"

namespace fluxwatch {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::run_command;

class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = new testing::ScratchDatabase();
    config_path_ = new std::string(testing::write_lab_config("pipeline"));
    // Three rounds over the lab watchlist: the data every test below reads.
    must(fluxwatch({"init"}));
    must(fluxwatch({"watchlist", "import",
                    (testing::source_dir() / "deploy/lab/watchlist.txt").string(), "--source",
                    "lab"}));
    must(fluxwatch({"probe", "--rounds", "3", "--types", "A,AAAA,NS", "--progress", "never"}));
  }
  static void TearDownTestSuite() {
    delete database_;
    delete config_path_;
  }

  static CommandResult fluxwatch(std::vector<std::string> args, const std::string& input = {}) {
    return testing::run_fluxwatch(*config_path_, database_->dsn(), args, input);
  }

  static void must(const CommandResult& result) {
    ASSERT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err;
  }

  template <typename T>
  static T scalar(const std::string& sql, const std::string& domain) {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    return tx.exec_params1(sql, domain)[0].as<T>();
  }

  /// Distinct values of an expression over the answer records of `domain`'s `qtype` probes.
  static long distinct_answers(const std::string& domain, const std::string& qtype,
                               const std::string& expression) {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    return tx
        .exec_params1(fmt::format("SELECT count(DISTINCT {}) FROM probes p "
                                  "JOIN watchlist w USING (domain_id) "
                                  "JOIN records r USING (probe_id) "
                                  "WHERE w.domain = $1 AND p.qtype = $2 AND r.section = 'answer' "
                                  "AND r.rtype = $2",
                                  expression),
                      domain, qtype)[0]
        .as<long>();
  }

  static std::vector<std::string> outcomes(const std::string& domain, const std::string& qtype) {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params(
             "SELECT DISTINCT p.outcome::text FROM probes p JOIN watchlist w USING (domain_id) "
             "WHERE w.domain = $1 AND p.qtype = $2 ORDER BY 1",
             domain, qtype)) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  }

  static inline testing::ScratchDatabase* database_ = nullptr;
  static inline std::string* config_path_ = nullptr;
};

TEST_F(PipelineTest, EveryDomainIsProbedEveryRoundForEveryType) {
  const auto domains = scalar<long>("SELECT count(*) FROM watchlist WHERE source = $1", "lab");
  EXPECT_GE(domains, 20);
  const auto probes = scalar<long>(
      "SELECT count(*) FROM probes p JOIN watchlist w USING (domain_id) WHERE w.source = $1",
      "lab");
  EXPECT_EQ(probes, domains * 3 * 3);  // 3 rounds x A, AAAA, NS
  EXPECT_EQ(
      scalar<long>("SELECT count(*) FROM probe_runs WHERE kind = $1 AND finished_at IS NOT NULL",
                   "probe"),
      3);
}

TEST_F(PipelineTest, FluxDomainShowsManyAddressesAndAsnsAcrossRounds) {
  // 5 of 192 addresses in 24 ASNs per query: three rounds see well over 5 of each.
  EXPECT_GE(distinct_answers("flux-alpha.test", "A", "r.address"), 9);
  EXPECT_GE(distinct_answers("flux-gamma.test", "A", "r.address"), 12);
  const auto asns = scalar<long>(
      "SELECT count(DISTINCT g.asn) FROM probes p JOIN watchlist w USING (domain_id) "
      "JOIN records r USING (probe_id) JOIN address_geo g ON g.address = r.address "
      "WHERE w.domain = $1 AND r.rtype = 'A'",
      "flux-alpha.test");
  EXPECT_GE(asns, 5);
  EXPECT_EQ(scalar<long>("SELECT min(r.ttl) FROM probes p JOIN watchlist w USING (domain_id) "
                         "JOIN records r USING (probe_id) WHERE w.domain = $1 AND r.rtype = 'A'",
                         "flux-alpha.test"),
            30);
}

TEST_F(PipelineTest, DoubleFluxNsSetRotates) {
  // 3 of 10 NS names per query, three rounds: at least 4 distinct names.
  EXPECT_GE(distinct_answers("dflux.test", "NS", "r.target"), 4);
}

TEST_F(PipelineTest, BenignDomainHasOneStableAnswer) {
  EXPECT_EQ(distinct_answers("benign-news.test", "A", "r.address"), 2);
  EXPECT_EQ(outcomes("benign-news.test", "A"), std::vector<std::string>{"NOERROR"});
  // The lab server is authoritative for its zones: every answer carries the AA bit.
  EXPECT_EQ(scalar<long>("SELECT count(*) FROM probes p JOIN watchlist w USING (domain_id) "
                         "WHERE w.domain = $1 AND p.authoritative",
                         "benign-news.test"),
            9);
  EXPECT_EQ(scalar<long>("SELECT count(DISTINCT ttl) FROM probes p JOIN watchlist w USING "
                         "(domain_id) JOIN records r USING (probe_id) WHERE w.domain = $1 AND "
                         "r.rtype = 'A'",
                         "benign-news.test"),
            1);
}

TEST_F(PipelineTest, ErrorNamesAreStoredAsTheirOutcomes) {
  EXPECT_EQ(outcomes("does-not-exist.errors.test", "A"), std::vector<std::string>{"NXDOMAIN"});
  EXPECT_EQ(outcomes("servfail.errors.test", "A"), std::vector<std::string>{"SERVFAIL"});
  EXPECT_EQ(outcomes("loop.errors.test", "A"), std::vector<std::string>{"SERVFAIL"});
  EXPECT_EQ(outcomes("www.not-a-lab-zone.example", "A"), std::vector<std::string>{"REFUSED"});
  EXPECT_EQ(outcomes("v6only.errors.test", "A"), std::vector<std::string>{"NODATA"});
  EXPECT_EQ(outcomes("v6only.errors.test", "AAAA"), std::vector<std::string>{"NOERROR"});
  // NXDOMAIN answers keep their authority section (the SOA), for negative-TTL research.
  EXPECT_GE(scalar<long>("SELECT count(*) FROM probes p JOIN watchlist w USING (domain_id) "
                         "JOIN records r USING (probe_id) WHERE w.domain = $1 AND "
                         "r.section = 'authority' AND r.rtype = 'SOA'",
                         "does-not-exist.errors.test"),
            3);
}

TEST_F(PipelineTest, TruncatedNameIsStoredWholeFromTcp) {
  EXPECT_EQ(scalar<long>("SELECT count(*) FROM probes p JOIN watchlist w USING (domain_id) "
                         "WHERE w.domain = $1 AND p.qtype = 'A' AND p.via_tcp",
                         "tc.errors.test"),
            3);
  EXPECT_EQ(distinct_answers("tc.errors.test", "A", "r.address"), 100);
}

TEST_F(PipelineTest, CnameChainIsRecordedHopByHop) {
  EXPECT_EQ(distinct_answers("chain.errors.test", "A", "r.address"), 1);
  EXPECT_EQ(scalar<long>("SELECT count(DISTINCT (r.owner, r.target)) FROM probes p JOIN watchlist "
                         "w USING (domain_id) JOIN records r USING (probe_id) WHERE w.domain = $1 "
                         "AND p.qtype = 'A' AND r.rtype = 'CNAME'",
                         "chain.errors.test"),
            3);
}

TEST_F(PipelineTest, EnrichmentNamesItsBuildAndLeavesUnknownAddressesEmpty) {
  EXPECT_EQ(scalar<std::string>("SELECT g.country FROM address_geo g WHERE g.address = $1::inet",
                                "127.200.3.1")
                .size(),
            2U);
  EXPECT_EQ(
      scalar<long>("SELECT count(*) FROM address_geo WHERE address = $1::inet AND asn IS NULL",
                   "127.250.0.1"),
      1);
  EXPECT_THAT(
      scalar<std::string>("SELECT string_agg(DISTINCT b.tag, ',') FROM address_geo g "
                          "JOIN geo_builds b USING (geo_build_id) WHERE g.address = $1::inet",
                          "127.200.3.1"),
      HasSubstr("GeoLite2-ASN@"));
}

TEST_F(PipelineTest, ReportSummarisesEachDomain) {
  const auto result = fluxwatch({"report", "--format", "csv"});
  must(result);
  EXPECT_THAT(result.out, ::testing::StartsWith("domain,probes,ipv4,ipv6,asns,countries,ns_names,"
                                                "min_ttl,last_outcome,last_probe\n"));
  // Two fixed IPv4 addresses in one ASN plus one IPv6 address in another (lab-networks.psv).
  EXPECT_THAT(result.out, HasSubstr("\nbenign-news.test,9,2,1,2,2,1,3600,NOERROR,"));
  EXPECT_THAT(result.out, HasSubstr("\nrr-shop.test,9,3,0,1,1,1,600,NOERROR,"));
  EXPECT_THAT(result.out, HasSubstr("\ndoes-not-exist.errors.test,9,0,0,0,0,0,,NXDOMAIN,"));
}

TEST_F(PipelineTest, SilentServerGivesStoredTimeouts) {
  const auto result =
      fluxwatch({"probe", "--resolver", testing::lab_blackhole().to_string(), "--types", "A",
                 "--timeout-ms", "200", "--tries", "1", "--progress", "never"});
  // Every query to it failed: stored as measured, but a loud warning and exit 3 (issue 16).
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.err, HasSubstr(fmt::format("resolver {} looks dead",
                                                testing::lab_blackhole().to_string())));
  EXPECT_EQ(scalar<long>("SELECT count(*) FROM probes WHERE resolver = $1 AND outcome = 'TIMEOUT' "
                         "AND rcode IS NULL",
                         testing::lab_blackhole().to_string()),
            scalar<long>("SELECT count(*) FROM watchlist WHERE source = $1", "lab"));
}

TEST_F(PipelineTest, NoStoreResolvesEveryDomainAndStoresNothing) {
  const auto count = [] {
    return scalar<long>(
        "SELECT (SELECT count(*) FROM probes) + (SELECT count(*) FROM records) + "
        "(SELECT count(*) FROM probe_runs) + length($1)",
        "");
  };
  const long before = count();
  const auto result =
      fluxwatch({"probe", "--no-store", "--types", "A", "--progress", "never", "-v"});
  must(result);
  const auto domains = scalar<long>("SELECT count(*) FROM watchlist WHERE $1 = ''", "");
  EXPECT_THAT(result.err, HasSubstr(fmt::format("(run 0): {} queries in", domains)));
  EXPECT_THAT(result.err, HasSubstr("records resolved (not stored)"));
  EXPECT_EQ(count(), before);
}

TEST_F(PipelineTest, SeveralWritersStoreEveryResultOfTheRound) {
  const auto result = fluxwatch({"probe", "--writers", "3", "--types", "A", "--progress", "never"});
  must(result);
  const auto run = scalar<long>("SELECT max(run_id) FROM probe_runs WHERE kind = $1", "probe");
  EXPECT_EQ(
      scalar<long>("SELECT count(*) FROM probes WHERE run_id = $1::bigint", std::to_string(run)),
      scalar<long>("SELECT count(*) FROM watchlist WHERE $1 = ''", ""));
  EXPECT_EQ(
      scalar<long>("SELECT count(*) FROM probes WHERE run_id = $1::bigint", std::to_string(run)),
      scalar<long>("SELECT probes FROM probe_runs WHERE run_id = $1::bigint", std::to_string(run)));
}

TEST_F(PipelineTest, BadWatchlistLinesAreReportedAndTheRestImported) {
  const std::string input = "good-one.test\nnot a name\n\nbad..name.test\ngood-two.test,x\n";
  auto result = fluxwatch({"watchlist", "import", "-", "--source", "stdin-test"}, input);
  must(result);
  EXPECT_THAT(result.err, HasSubstr("stdin:2: skipped"));
  EXPECT_THAT(result.err, HasSubstr("stdin:4: skipped"));
  EXPECT_THAT(result.out, HasSubstr("2 new"));
  EXPECT_EQ(scalar<long>("SELECT count(*) FROM watchlist WHERE source = $1", "stdin-test"), 2);
  result = fluxwatch({"watchlist", "import", "-", "--source", "stdin-test", "--strict"}, input);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.out, HasSubstr("0 new, 2 already watched"));
  EXPECT_EQ(scalar<long>("SELECT count(*) FROM watchlist WHERE source = $1", "stdin-test"), 2);
}

TEST_F(PipelineTest, ConfigErrorsNameFileLineAndKey) {
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("fluxwatch-bad-{}.yaml", getpid());
  std::ofstream(path) << "probe:\n  concurrency: 10\n  timout_ms: 5\n";
  const auto result =
      run_command({testing::fluxwatch_binary().string(), "--config", path.string(), "report"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr(path.string() + ":3: probe.timout_ms: unknown setting"));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace fluxwatch
