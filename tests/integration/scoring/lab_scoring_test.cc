// Scoring the offline lab end to end through the real fluxwatch binary: four probe rounds
// (plus NS host names, a late domain with one round and a round of timeouts), two score runs,
// then labels per lab class, SQL features vs the C++ reference, report/explain output, and
// every query of docs/queries.md (extracted from the markdown, run as fluxwatch_reader).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>

#include "feature_compare.h"
#include "fluxwatch/scoring/score_store.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using Rows = std::vector<std::map<std::string, std::string>>;

class LabScoringTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = new testing::ScratchDatabase();
    config_path_ = new std::string(testing::write_lab_config("lab-scoring"));
    must(fluxwatch({"init"}));
    must(fluxwatch({"watchlist", "import",
                    (testing::source_dir() / "deploy/lab/watchlist.txt").string(), "--source",
                    "lab"}));
    // The NS host names of dflux.test, so that the addresses behind its NS set are known.
    std::string ns_hosts;
    for (int i = 1; i <= 10; ++i) {
      ns_hosts += fmt::format("ns{:02}.dflux.test\n", i);
    }
    must(fluxwatch({"watchlist", "import", "-", "--source", "ns-hosts"}, ns_hosts));
    must(fluxwatch({"probe", "--rounds", "3", "--types", "A,AAAA,NS", "--progress", "never"}));
    // A fast-flux name (the lab's wildcard) that only the fourth round sees.
    must(fluxwatch({"watchlist", "import", "-", "--source", "late"}, "late.flux-alpha.test\n"));
    must(fluxwatch({"probe", "--rounds", "1", "--types", "A,AAAA,NS", "--progress", "never"}));
    // Timeouts in every history: one A round against the silent server.
    must(fluxwatch({"probe", "--resolver", testing::lab_blackhole().to_string(), "--types", "A",
                    "--timeout-ms", "200", "--tries", "1", "--progress", "never"}));
    must(fluxwatch({"score"}));
    must(fluxwatch({"score", "--format", "json"}));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(*config_path_);
    delete database_;
    delete config_path_;
  }

  static CommandResult fluxwatch(std::vector<std::string> args, const std::string& input = {}) {
    return testing::run_fluxwatch(*config_path_, database_->dsn(), args, input);
  }

  static void must(const CommandResult& result) {
    ASSERT_EQ(result.exit_code, 0) << "stdout:\n" << result.out << "\nstderr:\n" << result.err;
  }

  /// Runs `sql` (no parameters) as fluxwatch_reader; every value as text ("" for NULL).
  static Rows query_as_reader(const std::string& sql) {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    tx.exec("SET ROLE fluxwatch_reader");
    Rows rows;
    for (const auto& row : tx.exec(sql)) {
      std::map<std::string, std::string> values;
      for (const auto& field : row) {
        values[field.name()] = field.is_null() ? "" : field.as<std::string>();
      }
      rows.push_back(std::move(values));
    }
    return rows;
  }

  /// domain -> (label, first watchlist tag) for the latest score of every domain.
  static std::map<std::string, std::pair<std::string, std::string>> labels() {
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (auto& row : query_as_reader("SELECT s.domain, s.label, coalesce(w.tags[1], '') AS class "
                                     "FROM latest_scores s JOIN watchlist w USING (domain_id)")) {
      out[row["domain"]] = {row["label"], row["class"]};
    }
    return out;
  }

  static inline testing::ScratchDatabase* database_ = nullptr;
  static inline std::string* config_path_ = nullptr;
};

TEST_F(LabScoringTest, LabelsFollowTheLabClasses) {
  const auto all = labels();
  ASSERT_GE(all.size(), 40U);
  std::size_t flux = 0;
  for (const auto& [domain, entry] : all) {
    const auto& [label, lab_class] = entry;
    const bool is_flux = label == "fast_flux" || label == "double_flux";
    if (domain == "dflux.test") {
      EXPECT_EQ(label, "double_flux");
    } else if (domain == "www.dflux.test") {
      // Its NS set is the zone's, seen at the apex only: fast flux by its own answers.
      EXPECT_TRUE(is_flux) << domain << " " << label;
    } else if (domain == "late.flux-alpha.test") {
      EXPECT_EQ(label, "insufficient_data");
    } else if (lab_class == "flux") {
      EXPECT_EQ(label, "fast_flux") << domain;
      ++flux;
    } else if (lab_class == "cdn") {
      EXPECT_EQ(label, "cdn_like") << domain;
    } else if (lab_class == "round_robin") {
      EXPECT_EQ(label, "round_robin") << domain;
    } else if (domain == "benign-news.test") {
      EXPECT_TRUE(label == "stable" || label == "round_robin") << label;  // 2 A + 1 AAAA, fixed
    } else if (lab_class == "benign") {
      EXPECT_EQ(label, "stable") << domain;
    } else if (lab_class == "error") {
      EXPECT_FALSE(is_flux) << domain << " " << label;
    }
  }
  EXPECT_EQ(flux, 8U);
  // NXDOMAIN answers everywhere: nothing to decide on.
  EXPECT_EQ(all.at("does-not-exist.errors.test").first, "insufficient_data");
}

TEST_F(LabScoringTest, DoubleFluxSeesTheNsSetAndTheAddressesBehindIt) {
  const auto rows = query_as_reader(
      "SELECT ns_names, ns_addresses, ns_asns, ns_change_ratio, array_to_string(reasons, '|') AS "
      "reasons FROM latest_scores WHERE domain = 'dflux.test'");
  ASSERT_EQ(rows.size(), 1U);
  auto row = rows[0];
  EXPECT_GE(std::stoi(row["ns_names"]), 4);      // 3 of 10 per answer, four answers
  EXPECT_GE(std::stoi(row["ns_addresses"]), 6);  // the NS hosts are probed: 2 of 192 each
  EXPECT_GE(std::stoi(row["ns_asns"]), 3);
  EXPECT_GT(std::stod(row["ns_change_ratio"]), 0.0);
  EXPECT_THAT(row["reasons"], HasSubstr("distinct NS names"));
  // A plain fast-flux domain has one, stable NS name.
  EXPECT_EQ(query_as_reader("SELECT ns_names FROM latest_scores WHERE domain = "
                            "'flux-alpha.test'")[0]["ns_names"],
            "1");
}

TEST_F(LabScoringTest, SqlFeaturesMatchTheReferenceOnLabData) {
  scoring::ScoreStore store(database_->dsn());
  const auto rows = store.compute_features({});
  ASSERT_GE(rows.size(), 40U);
  for (const auto& row : rows) {
    const auto history = store.history(row.domain, {});
    EXPECT_TRUE(testing::same_features(
        row.features,
        scoring::compute_features(history.domain_probes, history.other_probes, history.geo)))
        << row.domain;
  }
}

TEST_F(LabScoringTest, ReportShowsFiltersAndSortsScores) {
  auto result = fluxwatch({"report", "--format", "csv"});
  must(result);
  EXPECT_THAT(result.out, ::testing::StartsWith("domain,probes,ipv4,ipv6,asns,countries,ns_names,"
                                                "min_ttl,last_outcome,last_probe\n"));
  result =
      fluxwatch({"report", "--format", "csv", "--label", "fast_flux", "--sort", "score", "--desc"});
  must(result);
  std::istringstream lines(result.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line,
            "domain,probes,ipv4,ipv6,asns,countries,ns_names,min_ttl,last_outcome,last_probe,"
            "label,holz_score,scored_at");
  double previous = 1e9;
  int count = 0;
  while (std::getline(lines, line)) {
    const auto fields = line.substr(line.find(",fast_flux,"));
    EXPECT_THAT(line, HasSubstr(",fast_flux,"));
    const double score = std::stod(fields.substr(std::string(",fast_flux,").size()));
    EXPECT_LE(score, previous) << line;
    previous = score;
    ++count;
  }
  EXPECT_GE(count, 8);
  result = fluxwatch({"report", "--format", "json", "--label", "double_flux,insufficient_data"});
  must(result);
  const auto json = nlohmann::json::parse(result.out);
  ASSERT_FALSE(json.empty());
  for (const auto& row : json) {
    EXPECT_TRUE(row["label"] == "double_flux" || row["label"] == "insufficient_data") << row;
    EXPECT_FALSE(row["reasons"].empty());
  }
}

TEST_F(LabScoringTest, ExplainShowsFeaturesReasonsAndAddresses) {
  auto result = fluxwatch({"explain", "dflux.test", "--format", "json"});
  must(result);
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["label"], "double_flux");
  EXPECT_FALSE(json["reasons"].empty());
  EXPECT_GE(json["features"]["ipv4_addresses"].get<int>(), 6);
  ASSERT_GE(json["addresses"].size(), 6U);
  for (const auto& address : json["addresses"]) {
    EXPECT_GE(address["asn"].get<int>(), 64512);
    EXPECT_EQ(address["country"].get<std::string>().size(), 2U);
  }
  result = fluxwatch({"explain", "rr-shop.test"});
  must(result);
  EXPECT_THAT(result.out, HasSubstr("rr-shop.test: round_robin"));
  EXPECT_THAT(result.out, HasSubstr("127.121.1.1"));
  EXPECT_THAT(result.out, HasSubstr("reasons:\n  - the same 3 addresses in every lookup"));
  result = fluxwatch({"explain", "not-on-the-list.test"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("no score for not-on-the-list.test"));
}

std::set<std::string> column(const Rows& rows, const std::string& name) {
  std::set<std::string> out;
  for (const auto& row : rows) {
    out.insert(row.at(name));
  }
  return out;
}

TEST_F(LabScoringTest, EveryDocumentedQueryRunsAndGivesTheExpectedResult) {
  const auto watched = std::stoul(query_as_reader("SELECT count(*) AS n FROM watchlist")[0]["n"]);
  const std::map<std::string, std::function<void(const Rows&)>> checks{
      {"asns-of-domain",
       [](const Rows& rows) {
         EXPECT_GE(rows.size(), 5U);
         for (const auto& row : rows) {
           EXPECT_GE(std::stol(row.at("asn")), 64512);
           EXPECT_LE(std::stol(row.at("asn")), 65534);
         }
       }},
      {"shared-addresses",
       [](const Rows& rows) {
         // Which domains share an address with flux-alpha.test depends on the lab's random
         // draws (5 of a 192-address pool per answer), so the expectation is computed from
         // the base tables, independently of the documented query and its view.
         const auto alpha = query_as_reader(
             "SELECT DISTINCT r.address FROM probes p JOIN records r USING (probe_id) "
             "JOIN watchlist w USING (domain_id) WHERE w.domain = 'flux-alpha.test' "
             "AND r.section = 'answer' AND r.rtype IN ('A', 'AAAA')");
         ASSERT_GE(alpha.size(), 5U);
         const auto expected = query_as_reader(
             "SELECT w.domain, count(DISTINCT r.address) AS n FROM probes p "
             "JOIN records r USING (probe_id) JOIN watchlist w USING (domain_id) "
             "WHERE w.domain <> 'flux-alpha.test' AND r.section = 'answer' "
             "AND r.rtype IN ('A', 'AAAA') AND r.address IN (SELECT r2.address FROM probes p2 "
             "JOIN records r2 USING (probe_id) JOIN watchlist w2 USING (domain_id) "
             "WHERE w2.domain = 'flux-alpha.test' AND r2.section = 'answer' "
             "AND r2.rtype IN ('A', 'AAAA')) GROUP BY w.domain");
         std::map<std::string, std::string> expected_counts;
         for (const auto& row : expected) {
           expected_counts[row.at("domain")] = row.at("n");
         }
         std::map<std::string, std::string> counts;
         for (const auto& row : rows) {
           counts[row.at("domain")] = row.at("shared_addresses");
         }
         EXPECT_EQ(counts, expected_counts);
         const auto domains = column(rows, "domain");
         for (const auto& domain : domains) {
           EXPECT_THAT(domain, ::testing::Not(::testing::AnyOf(HasSubstr("cdn"), HasSubstr("rr-"),
                                                               HasSubstr("benign"))));
         }
       }},
      {"domains-of-address",
       [](const Rows& rows) {
         EXPECT_EQ(column(rows, "domain"),
                   (std::set<std::string>{"rr-shop.test", "www.rr-shop.test"}));
         for (const auto& row : rows) {
           EXPECT_EQ(row.at("times_seen"), "4");  // four A rounds (the timeout round has none)
         }
       }},
      {"latest-labels",
       [&](const Rows& rows) {
         EXPECT_EQ(rows.size(), watched);
         for (const auto& row : rows) {
           if (row.at("domain") == "flux-gamma.test") {
             EXPECT_EQ(row.at("label"), "fast_flux");
             EXPECT_GT(std::stod(row.at("holz_score")), 0.0);
           }
         }
       }},
      {"label-counts",
       [&](const Rows& rows) {
         std::size_t total = 0;
         std::map<std::string, int> counts;
         for (const auto& row : rows) {
           total += std::stoul(row.at("domains"));
           counts[row.at("label")] = std::stoi(row.at("domains"));
         }
         EXPECT_EQ(total, watched);
         EXPECT_GE(counts["fast_flux"], 8);
         EXPECT_GE(counts["double_flux"], 1);  // dflux.test (www.dflux.test may join it)
         EXPECT_LE(counts["double_flux"], 2);
         EXPECT_EQ(counts["cdn_like"], 4);
       }},
      {"new-flux-this-week",
       [](const Rows& rows) {
         const auto domains = column(rows, "domain");
         EXPECT_TRUE(domains.contains("flux-alpha.test"));
         EXPECT_TRUE(domains.contains("dflux.test"));
         EXPECT_FALSE(domains.contains("rr-shop.test"));
       }},
      {"double-flux-ns-countries",
       [](const Rows& rows) {
         EXPECT_GE(rows.size(), 3U);
         for (const auto& row : rows) {
           EXPECT_EQ(row.at("country").size(), 2U);
         }
       }},
      {"domain-history",
       [](const Rows& rows) {
         EXPECT_EQ(rows.size(), 4U);
         for (const auto& row : rows) {
           EXPECT_EQ(row.at("addresses"), "{127.121.1.1,127.121.1.2,127.121.1.3}");
           EXPECT_EQ(row.at("ttl"), "600");
         }
       }},
      {"score-over-time",
       [](const Rows& rows) {
         ASSERT_EQ(rows.size(), 2U);
         EXPECT_LT(std::stol(rows[0].at("score_run_id")), std::stol(rows[1].at("score_run_id")));
         EXPECT_EQ(rows[1].at("label"), "fast_flux");
       }},
      {"label-changes",
       // Nothing was probed between the two score runs: no label can have changed.
       [](const Rows& rows) { EXPECT_TRUE(rows.empty()); }},
      {"top-flux-asns",
       [](const Rows& rows) {
         ASSERT_FALSE(rows.empty());
         EXPECT_LE(rows.size(), 10U);
         EXPECT_GE(std::stoi(rows[0].at("flux_domains")), 2);
       }},
      {"ttl-by-label",
       [](const Rows& rows) {
         std::map<std::string, std::string> min_ttl;
         for (const auto& row : rows) {
           min_ttl[row.at("label")] = row.at("min_ttl");
         }
         EXPECT_EQ(min_ttl["fast_flux"], "10");  // flux-gamma.test
         EXPECT_EQ(min_ttl["cdn_like"], "300");
         EXPECT_EQ(min_ttl["round_robin"], "600");
       }},
  };
  const auto queries = testing::doc_queries();
  EXPECT_GE(queries.size(), 10U);
  std::set<std::string> documented;
  std::set<std::string> checked;
  for (const auto& [name, sql] : queries) {
    documented.insert(name);
  }
  for (const auto& [name, check] : checks) {
    checked.insert(name);
  }
  EXPECT_EQ(documented, checked) << "docs/queries.md and this test must name the same queries";
  for (const auto& [name, sql] : queries) {
    SCOPED_TRACE(name);
    Rows rows;
    ASSERT_NO_THROW(rows = query_as_reader(sql)) << sql;
    if (const auto check = checks.find(name); check != checks.end()) {
      check->second(rows);
    }
  }
}

TEST_F(LabScoringTest, AnEmptyWindowLeavesEveryDomainInsufficient) {
  const auto result =
      fluxwatch({"score", "--since", "2000-01-01", "--until", "2000-01-02", "--format", "json"});
  must(result);
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["labels"].size(), 1U);
  EXPECT_EQ(json["labels"]["insufficient_data"], json["domains"]);
  EXPECT_EQ(fluxwatch({"score", "--since", "yesterday"}).exit_code, 2);
}

}  // namespace
}  // namespace fluxwatch
