// Prometheus metrics through the real executable against the lab and a real PostgreSQL:
// a running `fluxwatch run` is scraped over HTTP while it works, its exposition passes
// Debian's `promtool check metrics`, and its counters equal the rows it stored; `probe
// --metrics-file` writes the same for node_exporter's textfile collector.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "support/background.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

/// Sum of a metric's samples over the children whose labels contain `label_filter`.
double sum_of(const std::string& exposition, const std::string& name,
              const std::string& label_filter = "") {
  double sum = 0;
  std::istringstream lines(exposition);
  std::string line;
  const std::regex sample("^" + name + R"((\{.*\})? (\S+)$)");
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, match, sample) &&
        (label_filter.empty() || match[1].str().find(label_filter) != std::string::npos)) {
      sum += std::stod(match[2].str());
    }
  }
  return sum;
}

/// `promtool check metrics` on the text (its standard input); the exit code and output.
testing::CommandResult promtool_check(const std::string& text) {
  return testing::run_command({"/usr/bin/env", "promtool", "check", "metrics"}, text);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A TCP port on 127.0.0.1 that the system handed out a moment ago and nothing holds now
/// (0 if none could be had), as crawler_test's closed_udp_port() does for UDP.
int free_tcp_port() {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);
  if (probe < 0) {
    return 0;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = bind(probe, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                     getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(probe);
  return bound ? ntohs(address.sin_port) : 0;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::run_fluxwatch(config_, db_.dsn(), {"init"}).exit_code, 0);
    ASSERT_EQ(
        testing::run_fluxwatch(
            config_, db_.dsn(),
            {"watchlist", "import", (testing::source_dir() / "deploy/lab/watchlist.txt").string()})
            .exit_code,
        0);
  }
  long long count(const std::string& sql) const {
    pqxx::connection connection(db_.dsn());
    pqxx::nontransaction tx(connection);
    return tx.exec(sql)[0][0].as<long long>();
  }

  testing::ScratchDatabase db_;
  std::string config_ = testing::write_lab_config("metrics");
};

TEST_F(MetricsTest, RunServesMetricsThatPassPromtoolAndMatchTheStoredRows) {
  // The lab config plus a listen address and one campaign. Not a fixed port: another copy
  // of this suite (another build on the machine) may hold it.
  const int port = free_tcp_port();
  ASSERT_GT(port, 0);
  {
    std::ofstream(config_, std::ios::app)
        << fmt::format("metrics:\n  listen: 127.0.0.1:{}\n", port)
        << "campaigns:\n  - name: lab-1\n    min_interval: 3600\n    max_interval: 7200\n";
  }
  const std::string log = config_ + ".log";
  testing::Background run({testing::fluxwatch_binary().string(), "--config", config_, "--dsn",
                           db_.dsn(), "run", "--progress", "never"},
                          log);
  httplib::Client client("127.0.0.1", port);
  std::string text;
  // Every domain of the lab is due at start-up: wait until all are probed and stored.
  const long long domains = count("SELECT count(*) FROM watchlist");
  ASSERT_TRUE(testing::wait_until(
      [&] {
        const auto response = client.Get("/metrics");
        if (!response || response->status != 200) {
          return false;
        }
        text = response->body;
        return count("SELECT count(*) FROM schedule WHERE last_sent IS NOT NULL") == domains &&
               sum_of(text, "fluxwatch_probes_stored_total") ==
                   static_cast<double>(count("SELECT count(*) FROM probes"));
      },
      seconds(60)))
      << "log:\n"
      << run.log() << "\nlast scrape:\n"
      << text;

  const auto check = promtool_check(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << text;

  const auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_THAT(response->get_header_value("Content-Type"), HasSubstr("version=0.0.4"));
  text = response->body;
  const long long probes = count("SELECT count(*) FROM probes");
  ASSERT_GT(probes, 0);
  EXPECT_EQ(sum_of(text, "fluxwatch_probes_stored_total", "campaign=\"lab-1\""), probes);
  // Every result is counted once, by resolver, type and outcome, as stored.
  EXPECT_EQ(sum_of(text, "fluxwatch_queries_total"), probes);
  pqxx::connection connection(db_.dsn());
  pqxx::nontransaction tx(connection);
  for (const auto& row :
       tx.exec("SELECT resolver, qtype, outcome::text, count(*) FROM probes GROUP BY 1, 2, 3")) {
    EXPECT_EQ(
        sum_of(text, "fluxwatch_queries_total",
               fmt::format("resolver=\"{}\",qtype=\"{}\",outcome=\"{}\"", row[0].as<std::string>(),
                           row[1].as<std::string>(), row[2].as<std::string>())),
        row[3].as<double>())
        << row[0].as<std::string>() << " " << row[1].as<std::string>() << " "
        << row[2].as<std::string>();
  }
  EXPECT_EQ(sum_of(text, "fluxwatch_query_duration_seconds_count"), probes);
  EXPECT_EQ(sum_of(text, "fluxwatch_probe_lateness_seconds_count"), probes);
  EXPECT_EQ(sum_of(text, "fluxwatch_tcp_fallbacks_total"),
            count("SELECT count(*) FROM probes WHERE via_tcp"));
  EXPECT_EQ(sum_of(text, "fluxwatch_answer_records_total"),
            count("SELECT count(*) FROM records WHERE section = 'answer'"));
  EXPECT_EQ(sum_of(text, "fluxwatch_build_info"), 1);
  // The schedule readings come from the database every 15 s: wait for one after the work.
  ASSERT_TRUE(testing::wait_until(
      [&] {
        const auto again = client.Get("/metrics");
        return again && sum_of(again->body, "fluxwatch_database_up") == 1 &&
               sum_of(again->body, "fluxwatch_watched_domains") == static_cast<double>(domains);
      },
      seconds(40)));
  EXPECT_GT(sum_of(text, "fluxwatch_geoip_build_timestamp_seconds"), 0);

  run.signal(SIGTERM);
  ASSERT_EQ(run.wait(seconds(30)), 0) << run.log();
  EXPECT_FALSE(client.Get("/metrics")) << "the endpoint closes with the process";
}

TEST_F(MetricsTest, ProbeWritesTheMetricsFileAtomically) {
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("fluxwatch-metrics-{}", getpid());
  std::filesystem::create_directories(dir);
  const auto file = dir / "fluxwatch.prom";
  const auto result = testing::run_fluxwatch(
      config_, db_.dsn(), {"probe", "--progress", "never", "--metrics-file", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string text = read_file(file.string());
  const auto check = promtool_check(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << text;
  const long long probes = count("SELECT count(*) FROM probes");
  ASSERT_GT(probes, 0);
  EXPECT_EQ(sum_of(text, "fluxwatch_probes_stored_total"), probes);
  EXPECT_EQ(sum_of(text, "fluxwatch_queries_total"), probes);
  EXPECT_GT(sum_of(text, "fluxwatch_last_success_timestamp_seconds"), 1.7e9);
  // Nothing but the file itself is left in the directory (the temporary was renamed).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

// The resolver health gauges: a dead resolver beside the lab's, each result as the engine
// counts it (failed queries since the last answer; unhealthy from 3 in a row).
TEST_F(MetricsTest, ResolverHealthGaugesNameTheDeadResolver) {
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("fluxwatch-metrics-rh-{}", getpid());
  std::filesystem::create_directories(dir);
  const auto file = dir / "fluxwatch.prom";
  const auto live = testing::lab_server().to_string();
  const auto dead = testing::lab_blackhole().to_string();
  const auto result = testing::run_fluxwatch(
      config_, db_.dsn(),
      {"probe", "--progress", "never", "--resolver", live, "--resolver", dead, "--timeout-ms",
       "200", "--tries", "1", "--metrics-file", file.string()});
  ASSERT_LE(result.exit_code, 3) << result.err;
  const std::string text = read_file(file.string());
  std::filesystem::remove_all(dir);
  const auto check = promtool_check(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << text;
  const auto dead_probes =
      count(fmt::format("SELECT count(*) FROM probes WHERE resolver = '{}'", dead));
  ASSERT_GE(dead_probes, 3) << text;
  EXPECT_EQ(
      count(fmt::format(
          "SELECT count(*) FROM probes WHERE resolver = '{}' AND outcome <> 'TIMEOUT'", dead)),
      0);
  const auto label = [](const std::string& resolver) {
    return fmt::format("{{resolver=\"{}\"}}", resolver);
  };
  EXPECT_EQ(sum_of(text, "fluxwatch_resolver_failures_in_row", label(dead)), dead_probes) << text;
  EXPECT_EQ(sum_of(text, "fluxwatch_resolver_healthy", label(dead)), 0) << text;
  EXPECT_EQ(sum_of(text, "fluxwatch_resolver_failures_in_row", label(live)), 0) << text;
  EXPECT_EQ(sum_of(text, "fluxwatch_resolver_healthy", label(live)), 1) << text;
  EXPECT_THAT(text, HasSubstr("fluxwatch_resolver_healthy" + label(live) + " 1\n"));
}

}  // namespace
}  // namespace fluxwatch
