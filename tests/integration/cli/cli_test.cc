// The command line as people expect it (issue 16), through the real executable: the lab's
// DNS server, its MMDBs and a scratch PostgreSQL database. Each case names the rough edge
// or feature it covers; every one of them failed before the change.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "support/test_env.h"

namespace fluxwatch {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kDataDir = FLUXWATCH_TEST_DATA_DIR;

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = new testing::ScratchDatabase();
    config_path_ = new std::string(testing::write_lab_config("cli"));
    must(fluxwatch({"watchlist", "import",
                    (testing::source_dir() / "deploy/lab/watchlist.txt").string(), "--source",
                    "lab"}));
    must(fluxwatch({"probe", "--types", "A,NS", "--progress", "never"}));
    must(fluxwatch({"score"}));
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
  static long scalar(const std::string& sql, const std::string& param = "") {
    pqxx::connection conn(database_->dsn());
    pqxx::work tx(conn);
    return tx.exec_params1(sql, param)[0].as<long>();
  }
  static std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(nlohmann::json::parse(line));  // throws (fails the test) if not JSON
    }
    return lines;
  }
  static std::filesystem::path scratch_file(const std::string& name, const std::string& text) {
    const auto path =
        std::filesystem::temp_directory_path() / fmt::format("fluxwatch-cli-{}-{}", getpid(), name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  static inline testing::ScratchDatabase* database_ = nullptr;
  static inline std::string* config_path_ = nullptr;
};

// --- rough edge 1: a dead resolver, and probe's summary on stdout ------------------------

TEST_F(CliTest, DeadResolverIsALoudWarningAndExitThree) {
  const auto dead = testing::lab_blackhole().to_string();
  const auto result =
      fluxwatch({"probe", "--resolver", dead, "--domain", "benign-news.test", "--types", "A",
                 "--timeout-ms", "100", "--tries", "1", "--progress", "never"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_THAT(result.err, HasSubstr(fmt::format("resolver {} looks dead: 1 of 1 query", dead)));
  EXPECT_THAT(result.out, HasSubstr("1 queries"));
  EXPECT_THAT(result.out, HasSubstr("dead"));
}

TEST_F(CliTest, ProbePrintsRunIdAndTotalsOnStdout) {
  const auto result = fluxwatch({"probe", "--domain", "BENIGN-NEWS.test.", "--types", "A,AAAA",
                                 "--format", "json", "--progress", "never"});
  must(result);
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 1U) << result.out;
  const auto& round = lines[0];
  EXPECT_EQ(round["queries"], 2);
  EXPECT_EQ(round["outcomes"]["NOERROR"], 2);
  EXPECT_EQ(round["resolvers"][0]["healthy"], true);
  const long run_id = round["run_id"].get<long>();
  EXPECT_EQ(scalar("SELECT count(*) FROM probes WHERE run_id = $1::bigint", std::to_string(run_id)),
            2);
  const auto text =
      fluxwatch({"probe", "--domain", "benign-news.test", "--types", "A", "--progress", "never"});
  must(text);
  EXPECT_THAT(text.out, ::testing::MatchesRegex("run [0-9]+: round 1/1: 1 queries, 2 records "
                                                "stored, 0 errors, .* NOERROR=1\n"));
}

TEST_F(CliTest, ProbeSubsetByTagSourceAndDomain) {
  const auto benign =
      scalar("SELECT count(*) FROM watchlist WHERE 'benign' = ANY (tags) AND $1 = ''");
  ASSERT_GT(benign, 1);
  auto result = fluxwatch(
      {"probe", "--tag", "benign", "--types", "A", "--format", "json", "--progress", "never"});
  must(result);
  EXPECT_EQ(json_lines(result.out).at(0)["queries"], benign);
  result = fluxwatch({"probe", "--source", "no-such-source", "--progress", "never"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("no watched domain matches --source 'no-such-source'"));
  result = fluxwatch({"probe", "--domain", "not a name", "--progress", "never"});
  EXPECT_EQ(result.exit_code, 2);
}

// --- rough edge 2: --format / --column for local files and stdin --------------------------

TEST_F(CliTest, ImportHonoursFormatAndColumnForFilesAndStdin) {
  const auto csv = scratch_file("hosts.csv", "score,host\n5,csv-one.test\n7,csv-two.test\n");
  auto result = fluxwatch({"watchlist", "import", csv.string(), "--format", "csv", "--column",
                           "host", "--source", "csvfile"});
  must(result);
  EXPECT_THAT(result.out, HasSubstr("imported 2 domains"));
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE source = $1", "csvfile"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE domain IN ('host', 'score') AND $1 = ''"),
            0);
  const auto jsonl = scratch_file(
      "feed.jsonl", "{\"domain\": \"jsonl-one.test\"}\n{\"domain\": \"JSONL-TWO.test.\"}\n");
  result = fluxwatch({"watchlist", "import", jsonl.string(), "--source", "jsonlfile"});
  must(result);  // *.jsonl is read as JSON lines without --format
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE source = $1", "jsonlfile"), 2);
  result = fluxwatch({"watchlist", "import", "-", "--format", "jsonl", "--column", "name",
                      "--source", "jsonlstdin"},
                     "{\"name\": \"stdin-jsonl.test\"}\n");
  must(result);
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE source = $1", "jsonlstdin"), 1);
  // The wrong format rejects every line: an error, not success.
  result = fluxwatch({"watchlist", "import", jsonl.string(), "--format", "plain"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("no domain imported"));
  std::filesystem::remove(csv);
  std::filesystem::remove(jsonl);
}

// --- rough edge 3: explain -----------------------------------------------------------------

TEST_F(CliTest, ExplainNormalisesNamesAsImportDoes) {
  for (const char* spelling :
       {"FLUX-ALPHA.TEST.", "http://flux-alpha.test/login", "flux-alpha.test"}) {
    const auto result = fluxwatch({"explain", spelling});
    must(result);
    EXPECT_THAT(result.out, ::testing::StartsWith("flux-alpha.test: ")) << spelling;
  }
  must(fluxwatch({"watchlist", "import", "-", "--source", "idn"}, "bücher.test\n"));
  auto result = fluxwatch({"explain", "BÜCHER.test"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("xn--bcher-kva.test is watched but not scored yet"));
  result = fluxwatch({"explain", "never-imported.test"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("never-imported.test is not on the watchlist"));
}

TEST_F(CliTest, ExplainSinceRescoresAndUnknownCampaignIsAnError) {
  auto result = fluxwatch({"explain", "flux-alpha.test", "--since", "7d"});
  must(result);
  EXPECT_THAT(result.out, HasSubstr("re-scored"));
  result = fluxwatch({"explain", "flux-alpha.test", "--since", "7d", "--format", "json"});
  must(result);
  EXPECT_EQ(nlohmann::json::parse(result.out)["rescored"], true);
  result = fluxwatch({"explain", "flux-alpha.test", "--campaign", "no-such-campaign"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("--campaign no-such-campaign: no such campaign"));
  result = fluxwatch({"score", "--campaign", "no-such-campaign"});
  EXPECT_EQ(result.exit_code, 2);
}

// --- rough edge 4: the progress line -------------------------------------------------------

TEST_F(CliTest, ProgressLineIsRedrawnWhileNothingAnswersAndCountsDown) {
  const auto result =
      fluxwatch({"probe", "--resolver", testing::lab_blackhole().to_string(), "--domain",
                 "benign-news.test", "--types", "A", "--timeout-ms", "1200", "--tries", "1",
                 "--progress", "always", "--rounds", "2", "--interval", "1"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  // Before: drawn only when an answer arrived (once per round). Now: on a 250 ms timer.
  std::size_t draws = 0;
  for (auto at = result.err.find("round 1/2: 0/1"); at != std::string::npos;
       at = result.err.find("round 1/2: 0/1", at + 1)) {
    ++draws;
  }
  EXPECT_GE(draws, 3U) << result.err;
  EXPECT_THAT(result.err, HasSubstr("round 2/2: starts in 1s"));
}

// --- rough edge 5: report --scores -----------------------------------------------------------

TEST_F(CliTest, ReportScoresShowsWindowUnscoredAndFilters) {
  must(fluxwatch({"watchlist", "import", "-", "--source", "late"}, "unscored-late.test\n"));
  auto result = fluxwatch({"report", "--scores", "--format", "json"});
  must(result);
  const auto rows = nlohmann::json::parse(result.out);
  bool saw_unscored = false;
  for (const auto& row : rows) {
    if (row["domain"] == "unscored-late.test") {
      saw_unscored = true;
      EXPECT_EQ(row["label"], "unscored");
    } else if (row["domain"] == "flux-alpha.test") {
      EXPECT_TRUE(row["window_end"].is_string());
      // Rounded as in CSV: at most two decimals.
      const auto text = row["holz_score"].dump();
      EXPECT_LE(text.size() - std::min(text.size(), text.find('.') + 1), 2U) << text;
    }
  }
  EXPECT_TRUE(saw_unscored);
  EXPECT_THAT(result.out, Not(::testing::ContainsRegex("\\.[0-9]{5,}")));
  result = fluxwatch({"report", "--scores", "--format", "csv", "--tag", "flux"});
  must(result);
  EXPECT_THAT(result.out, HasSubstr("window_start,window_end\n"));
  EXPECT_THAT(result.out, HasSubstr("\nflux-alpha.test,"));
  EXPECT_THAT(result.out, Not(HasSubstr("benign-news.test")));
  result = fluxwatch({"report", "--domain", "Benign-News.test", "--format", "csv"});
  must(result);
  EXPECT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 2);
  result = fluxwatch({"report", "--since", "2000-01-01", "--format", "csv", "--source", "late"});
  must(result);
  EXPECT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1);  // never probed
}

// --- rough edge 6: a corrupt GeoIP database ------------------------------------------------

TEST_F(CliTest, CorruptGeoDatabaseIsAConfigurationError) {
  const auto result =
      fluxwatch({"probe", "--domain", "benign-news.test", "--progress", "never", "--city-db",
                 (kDataDir / "maxmind/GeoIP2-City-Test-Broken-Double-Format.mmdb").string()});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_THAT(result.err, HasSubstr("configuration error"));
  EXPECT_THAT(result.err, HasSubstr("is corrupt"));
}

// --- rough edge 7: feeds ----------------------------------------------------------------------

TEST_F(CliTest, FailedOneOffUrlImportLeavesNoFeedAndSaysNothingWasImported) {
  // A port nobody listens on: the connection is refused at once.
  const std::string url = "http://127.0.0.1:9/list.txt";
  const auto result = fluxwatch({"watchlist", "import", url});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("nothing was imported from it"));
  EXPECT_THAT(result.err, Not(HasSubstr("previous import")));
  EXPECT_THAT(result.err, Not(HasSubstr("after 0 ms")));
  EXPECT_EQ(scalar("SELECT count(*) FROM feeds WHERE url = $1", url), 0);
  const auto list = fluxwatch({"feeds", "list"});
  must(list);
  EXPECT_THAT(list.out, Not(HasSubstr("127.0.0.1:9")));
}

// --- rough edge 8: config, db, --help ---------------------------------------------------------

TEST_F(CliTest, ConfigRedactsTheDsnPasswordAndNamesItsFile) {
  const auto path =
      scratch_file("secret.yaml",
                   "database:\n  dsn: \"host=/nowhere user=fw password=s3cret dbname=x\"\n"
                   "scoring:\n  flux_min_change_ratio: 0.3\n");
  const auto result = testing::run_command(
      {testing::fluxwatch_binary().string(), "--config", path.string(), "config"});
  must(result);
  EXPECT_THAT(result.out, Not(HasSubstr("s3cret")));
  EXPECT_THAT(result.out, HasSubstr("password=(redacted)"));
  EXPECT_THAT(result.out, HasSubstr("# loaded from " + path.string()));
  EXPECT_THAT(result.out, HasSubstr("flux_min_change_ratio: 0.3\n"));
  std::filesystem::remove(path);
}

TEST_F(CliTest, BareDbShowsHelpAndHelpShowsDefaults) {
  auto result = fluxwatch({"db"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("start, stop, status"));
  EXPECT_EQ(result.out, "");
  result = testing::run_command({testing::fluxwatch_binary().string(), "probe", "--help"});
  must(result);
  EXPECT_THAT(result.out, ::testing::ContainsRegex("--writers[^\n]*=2\n"));
  EXPECT_THAT(result.out, ::testing::ContainsRegex("--rounds[^\n]*=1\n"));
}

// --- query: JSON lines, every record type ------------------------------------------------------

TEST_F(CliTest, QueryPrintsJsonLinesWithEveryRecordType) {
  const auto result = fluxwatch({"query", "--types", "A,MX,TXT,CAA", "records.test",
                                 "benign-news.test", "does-not-exist.errors.test", "bad..name"});
  must(result);
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 1U + 12U + 1U) << result.out;  // ILLEGAL_INPUT, 3 x 4, metadata
  EXPECT_EQ(lines.front()["status"], "ILLEGAL_INPUT");
  const auto& metadata = lines.back()["metadata"];
  EXPECT_EQ(metadata["names"], 3);
  EXPECT_EQ(metadata["illegal_input"], 1);
  EXPECT_EQ(metadata["queries"], 12);
  EXPECT_EQ(metadata["statuses"]["NXDOMAIN"], 4);
  const auto find = [&](const std::string& name, const std::string& type) {
    for (const auto& line : lines) {
      if (line.contains("name") && line["name"] == name && line.value("type", "") == type) {
        return line;
      }
    }
    ADD_FAILURE() << "no line for " << name << " " << type;
    return nlohmann::json();
  };
  const auto mx = find("records.test", "MX");
  EXPECT_EQ(mx["status"], "NOERROR");
  ASSERT_EQ(mx["data"]["answers"].size(), 2U);
  std::vector<std::string> exchanges;
  for (const auto& answer : mx["data"]["answers"]) {
    exchanges.push_back(answer["data"]);
    EXPECT_EQ(answer["ttl"], 3600);
  }
  std::sort(exchanges.begin(), exchanges.end());
  EXPECT_EQ(exchanges, (std::vector<std::string>{"10 mail.records.test.", "20 mx2.records.test."}));
  EXPECT_EQ(find("records.test", "TXT")["data"]["answers"][0]["data"],
            "\"v=spf1 -all\" \"second string\"");
  EXPECT_EQ(find("records.test", "CAA")["data"]["answers"][0]["data"], "0 issue \"ca.example\"");
  const auto a = find("benign-news.test", "A");
  ASSERT_EQ(a["data"]["answers"].size(), 2U);
  for (const auto& answer : a["data"]["answers"]) {
    EXPECT_TRUE(answer["asn"].is_number()) << answer;  // enriched from the lab's MMDBs
    EXPECT_TRUE(answer["country"].is_string()) << answer;
  }
  EXPECT_EQ(a["resolver"], testing::lab_server().to_string());
  EXPECT_EQ(find("does-not-exist.errors.test", "A")["status"], "NXDOMAIN");
}

TEST_F(CliTest, QueryReadsStdinStoresAndTakesAnyType) {
  const long before = scalar("SELECT count(*) FROM probes WHERE $1 = ''");
  const auto result = fluxwatch(
      {"query", "--store", "--types", "PTR,SRV,DS,DNSKEY,TYPE65280"},
      "# names\nptr.records.test\n_xmpp._tcp.records.test\nchild.records.test\nkey.records.test\n");
  must(result);
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 4U * 5U + 1U);
  std::map<std::string, std::string> data;  // "name type" -> first answer
  for (const auto& line : lines) {
    if (line.contains("name") && !line["data"]["answers"].empty()) {
      data[line["name"].get<std::string>() + " " + line["type"].get<std::string>()] =
          line["data"]["answers"][0]["data"];
    }
  }
  EXPECT_EQ(data["ptr.records.test PTR"], "host.records.test.");
  EXPECT_EQ(data["_xmpp._tcp.records.test SRV"], "5 0 5269 xmpp.records.test.");
  EXPECT_THAT(data["child.records.test DS"], HasSubstr("60485 13 2 "));
  EXPECT_THAT(data["key.records.test DNSKEY"], HasSubstr("257 3 13 "));
  const auto run_id = lines.back()["metadata"]["run_id"].get<long>();
  EXPECT_EQ(scalar("SELECT count(*) FROM probes WHERE run_id = $1::bigint", std::to_string(run_id)),
            20);
  EXPECT_EQ(scalar("SELECT count(*) FROM probes WHERE $1 = ''"), before + 20);
  EXPECT_EQ(scalar("SELECT count(*) FROM probe_runs WHERE kind = $1", "query"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM probes WHERE qtype = $1", "TYPE65280"), 4);
}

TEST_F(CliTest, ProbeStoresOtherRecordTypes) {
  must(fluxwatch({"watchlist", "import", "-", "--source", "types"}, "records.test\n"));
  must(
      fluxwatch({"probe", "--domain", "records.test", "--types", "MX,TXT", "--progress", "never"}));
  EXPECT_EQ(scalar("SELECT count(*) FROM records r JOIN probes p USING (probe_id) "
                   "WHERE p.qtype = 'MX' AND r.rtype = $1 AND r.section = 'answer'",
                   "MX"),
            2);
}

// --- watchlist management ---------------------------------------------------------------------

TEST_F(CliTest, WatchlistListLongTagUntagRemove) {
  must(fluxwatch({"watchlist", "import", "-", "--source", "manage", "--tag", "needs review"},
                 "manage-one.test,a;b\nbücher-manage.test\n"));
  auto result = fluxwatch({"watchlist", "list", "--long", "--source", "manage"});
  must(result);
  EXPECT_THAT(result.out, HasSubstr("domain\tunicode\tsource\ttags\tadded_at\n"));
  EXPECT_THAT(result.out,
              HasSubstr("manage-one.test\tmanage-one.test\tmanage\ta;b;needs review\t"));
  EXPECT_THAT(result.out,
              ::testing::ContainsRegex("\nxn--[a-z0-9-]+\\.test\tbücher-manage\\.test\tmanage\t"));
  must(fluxwatch({"watchlist", "tag", "urgent", "MANAGE-ONE.test"}));
  must(fluxwatch({"watchlist", "untag", "a", "manage-one.test"}));
  result = fluxwatch({"watchlist", "list", "--long", "--format", "json", "--tag", "urgent"});
  must(result);
  const auto listed = nlohmann::json::parse(result.out);
  ASSERT_EQ(listed.size(), 1U);
  EXPECT_EQ(listed[0]["tags"], nlohmann::json({"b", "needs review", "urgent"}));
  result = fluxwatch({"watchlist", "tag", "bad;tag", "manage-one.test"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("'bad;tag'"));

  result = fluxwatch({"watchlist", "remove", "manage-one.test", "not-watched.test"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("not-watched.test: not on the watchlist"));
  result = fluxwatch({"watchlist", "list", "--source", "manage"});
  EXPECT_THAT(result.out, Not(HasSubstr("manage-one.test")));
  result = fluxwatch({"probe", "--domain", "manage-one.test", "--progress", "never"});
  EXPECT_EQ(result.exit_code, 3);
  must(fluxwatch({"watchlist", "import", "-", "--source", "manage"}, "manage-one.test\n"));
  result = fluxwatch({"watchlist", "list", "--source", "manage"});
  EXPECT_THAT(result.out, HasSubstr("manage-one.test"));
}

TEST_F(CliTest, SpacedTagsInAFileAreKeptAndBadOnesReported) {
  const auto result = fluxwatch({"watchlist", "import", "-", "--source", "spaced"},
                                "spaced.test,needs review;bad\x01tag\n");
  must(result);
  EXPECT_THAT(result.err, HasSubstr("stdin:1: tag left off"));
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE source = 'spaced' AND tags = $1",
                   "{\"needs review\"}"),
            1);
}

// --- --qps: a global query-rate limit (as zdns, massdns, dnsx) ----------------------------
// Lower bounds only (a loaded machine is slower, never faster): a token bucket that starts
// with `burst` tokens lets N queries go no sooner than (N - burst) / qps after the first.

TEST_F(CliTest, ProbeQpsSpreadsTheRoundOverAtLeastTheLimitsTime) {
  const long watched =
      scalar("SELECT count(*) FROM watchlist WHERE $1 = '' AND removed_at IS NULL");
  ASSERT_GE(watched, 20);
  const double qps = 10;  // one A query per domain; bucket of max(1, 10 / 100) = 1 token
  const auto result = fluxwatch(
      {"probe", "--types", "A", "--qps", "10", "--format", "json", "--progress", "never"});
  ASSERT_LE(result.exit_code, 3) << result.err;
  const auto round = json_lines(result.out).at(0);
  EXPECT_EQ(round["queries"].get<long>(), watched);  // nothing dropped by the limit
  const auto run_id = std::to_string(round["run_id"].get<long>());
  // The stored send times of the run: the first and the last query are far enough apart.
  pqxx::connection conn(database_->dsn());
  pqxx::work tx(conn);
  const auto span = tx.exec_params1(
      "SELECT extract(epoch FROM max(sent_at) - min(sent_at))::float8, count(*) FROM probes "
      "WHERE run_id = $1::bigint",
      run_id);
  EXPECT_EQ(span[1].as<long>(), watched);
  EXPECT_GE(span[0].as<double>(), static_cast<double>(watched - 1 - 1) / qps)
      << "queries went out faster than --qps allows";
}

TEST_F(CliTest, QueryQpsTakesAtLeastTheLimitsTime) {
  std::string names;
  for (int i = 0; i < 24; ++i) {
    names += fmt::format("host{}.benign-news.test\n", i);
  }
  const auto started = std::chrono::steady_clock::now();
  const auto result = fluxwatch({"query", "--qps", "20"}, names);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_LE(result.exit_code, 3) << result.err;
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 24U + 1U);
  EXPECT_EQ(lines.back()["metadata"]["qps"], 20.0) << result.out;
  EXPECT_GE(seconds, (24.0 - 1.0) / 20.0);  // burst max(1, 20 / 100) = 1
}

}  // namespace
}  // namespace fluxwatch
