// HTTP probes of flux-like domains: every address is a 127.0.0.x host of a real HTTP server
// on loopback. "same.flux.test" is served the same page by all its hosts, "diff.flux.test"
// a different page by each; the DNS side is stored as ProbeResults, as the crawler would.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <pqxx/pqxx>
#include <set>

#include "fluxwatch/fetch/http_prober.h"
#include "fluxwatch/fetch/maintenance.h"
#include "fluxwatch/storage/database.h"
#include "loopback_server.h"
#include "support/test_env.h"

namespace fluxwatch::fetch {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kSameHosts = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
const std::vector<std::string> kDiffHosts = {"127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"};
const std::string kSamePage = "<html><body>one flux page</body></html>\n";

std::vector<std::string> all_hosts() {
  auto hosts = kSameHosts;
  hosts.insert(hosts.end(), kDiffHosts.begin(), kDiffHosts.end());
  return hosts;
}

ProbeResult a_answer(std::int64_t domain_id, const std::string& name,
                     const std::vector<std::string>& addresses) {
  ProbeResult result;
  result.domain_id = domain_id;
  result.name = name;
  result.qtype = RrType::A;
  result.resolver = "127.0.0.1:53";
  result.sent_at = std::chrono::system_clock::now();
  result.latency = std::chrono::microseconds(500);
  result.outcome = Outcome::NoError;
  result.rcode = 0;
  result.campaign = "flux";
  for (const auto& address : addresses) {
    result.records.push_back({Section::Answer, name, 1, 30, address});
  }
  return result;
}

class HttpProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::LoopbackHttpServer(root_->path(), all_hosts());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static HttpProbeOptions fast_options() {
    HttpProbeOptions options;
    options.rate_per_second = 1000;
    options.per_address_interval = std::chrono::milliseconds(0);
    options.timeout = std::chrono::milliseconds(5000);
    return options;
  }

  static HttpProbeTarget target(const std::string& domain, const std::string& address) {
    HttpProbeTarget t;
    t.domain = domain;
    t.address = address;
    t.connect_port = server_->port();
    return t;
  }

  static inline testing::TempDir* root_ = new testing::TempDir();  // lives for the binary
  static inline testing::LoopbackHttpServer* server_ = nullptr;
};

TEST_F(HttpProbeTest, ProbesEachAddressPinnedAndHashesTheBody) {
  std::vector<HttpProbeTarget> targets;
  for (const auto& host : kSameHosts) {
    targets.push_back(target("same.flux.test", host));
  }
  for (const auto& host : kDiffHosts) {
    targets.push_back(target("diff.flux.test", host));
  }
  HttpProber prober(fast_options());
  const auto results = prober.run(targets);
  ASSERT_EQ(results.size(), 8U);
  std::set<std::string> same_hashes;
  std::set<std::string> diff_hashes;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    ASSERT_TRUE(r.status.has_value()) << r.target.address << ": " << r.error;
    EXPECT_EQ(*r.status, 200);
    EXPECT_EQ(r.target, targets[i]);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.server, "fluxwatch-test");
    EXPECT_EQ(r.content_type, "text/html");
    ASSERT_TRUE(r.connect_us && r.ttfb_us && r.total_us);
    EXPECT_GT(*r.connect_us, 0);
    EXPECT_GE(*r.ttfb_us, *r.connect_us);
    EXPECT_GE(*r.total_us, *r.ttfb_us);
    (i < 4 ? same_hashes : diff_hashes).insert(r.body_sha256);
    if (i >= 4) {  // the page names the address the connection went to: pinning works
      const auto page = fmt::format("<html><body>served by {}</body></html>\n", r.target.address);
      EXPECT_EQ(r.body_sha256, sha256_hex(page));
      EXPECT_EQ(r.body_length, page.size());
    }
  }
  EXPECT_EQ(same_hashes, std::set<std::string>{sha256_hex(kSamePage)});
  EXPECT_EQ(diff_hashes.size(), 4U);
}

TEST_F(HttpProbeTest, LimitsBodiesAndRecordsFailures) {
  auto options = fast_options();
  options.max_body_bytes = 1024;
  options.connect_timeout = std::chrono::milliseconds(1000);
  HttpProber prober(options);
  auto refused = target("same.flux.test", "127.0.0.10");  // nothing listens there
  const auto results =
      prober.run({target("big.flux.test", "127.0.0.2"), refused, target("bad", "not-an-ip")});
  ASSERT_EQ(results.size(), 3U);
  EXPECT_EQ(results[0].status, 200);
  EXPECT_TRUE(results[0].body_truncated);
  EXPECT_EQ(results[0].body_length, 1024U);
  EXPECT_EQ(results[0].body_sha256, sha256_hex(std::string(1024, 'x')));
  EXPECT_TRUE(results[0].error.empty()) << results[0].error;
  EXPECT_FALSE(results[1].status.has_value());
  EXPECT_FALSE(results[1].error.empty());
  EXPECT_TRUE(results[1].body_sha256.empty());
  EXPECT_THAT(results[2].error, HasSubstr("not probed"));
}

TEST_F(HttpProbeTest, SpacesRequestsToOneAddress) {
  auto options = fast_options();
  options.per_address_interval = std::chrono::milliseconds(150);
  HttpProber prober(options);
  const auto results =
      prober.run({target("same.flux.test", "127.0.0.3"), target("diff.flux.test", "127.0.0.3"),
                  target("big.flux.test", "127.0.0.3")});
  ASSERT_EQ(results.size(), 3U);
  for (std::size_t i = 1; i < results.size(); ++i) {
    EXPECT_GE(results[i].started_at - results[i - 1].started_at, std::chrono::milliseconds(150));
  }
}

TEST_F(HttpProbeTest, MaintenanceProbesNewAddressesAndFeedsTheScoringViews) {
  testing::ScratchDatabase database;
  storage::Database db(database.dsn());
  db.migrate();
  db.import_watchlist({{"same.flux.test", "test", {}},
                       {"diff.flux.test", "test", {}},
                       {"dead.flux.test", "test", {}}});
  std::map<std::string, std::int64_t> ids;
  for (const auto& watched : db.watched_domains()) {
    ids[watched.domain] = watched.id;
  }
  const auto run = db.begin_run("test", "{}");
  storage::ProbeBatch batch;
  batch.run_id = run;
  batch.results = {a_answer(ids["same.flux.test"], "same.flux.test", kSameHosts),
                   a_answer(ids["diff.flux.test"], "diff.flux.test", kDiffHosts),
                   a_answer(ids["dead.flux.test"], "dead.flux.test", {"127.0.0.10"})};
  db.store(batch);

  config::Config config = config::default_config();
  config.http_probe.rate_per_second = 1000;
  config.http_probe.per_address_interval = std::chrono::milliseconds(0);
  config.http_probe.connect_timeout = std::chrono::milliseconds(1000);
  HttpProbeRequest request;
  request.campaign = "flux";
  request.connect_port = server_->port();
  {
    FetchMaintenance disabled(config, database.dsn());
    EXPECT_EQ(disabled.probe_new_addresses(request).targets, 0U);  // opt-in
  }
  config.http_probe.enabled = true;
  FetchMaintenance maintenance(config, database.dsn());
  const auto summary = maintenance.probe_new_addresses(request);
  EXPECT_EQ(summary.targets, 9U);
  EXPECT_EQ(summary.responses, 8U);
  EXPECT_EQ(summary.failures, 1U);
  EXPECT_EQ(maintenance.probe_new_addresses(request).targets, 0U);  // nothing new

  pqxx::connection c(database.dsn());
  pqxx::read_transaction tx(c);
  const auto rows = tx.exec(
      "SELECT w.domain, count(*), count(DISTINCT h.body_sha256), min(h.status), "
      "bool_and(h.connect_us > 0 AND h.ttfb_us >= h.connect_us AND h.total_us >= h.ttfb_us), "
      "min(h.server), min(h.campaign), min(h.url) "
      "FROM http_probes h JOIN watchlist w USING (domain_id) "
      "WHERE h.status IS NOT NULL GROUP BY w.domain ORDER BY w.domain");
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0][0].as<std::string>(), "diff.flux.test");
  EXPECT_EQ(rows[0][1].as<int>(), 4);
  EXPECT_EQ(rows[0][2].as<int>(), 4);
  EXPECT_EQ(rows[1][0].as<std::string>(), "same.flux.test");
  EXPECT_EQ(rows[1][2].as<int>(), 1);
  for (const auto& row : rows) {
    EXPECT_EQ(row[3].as<int>(), 200);
    EXPECT_TRUE(row[4].as<bool>());
    EXPECT_EQ(row[5].as<std::string>(), "fluxwatch-test");
    EXPECT_EQ(row[6].as<std::string>(), "flux");
  }
  EXPECT_EQ(rows[1][7].as<std::string>(), "http://same.flux.test/");
  EXPECT_EQ(tx.exec1("SELECT body_sha256 FROM http_probes h JOIN watchlist w USING (domain_id) "
                     "WHERE w.domain = 'same.flux.test' LIMIT 1")[0]
                .as<std::string>(),
            sha256_hex(kSamePage));
  const auto dead = tx.exec1(
      "SELECT status IS NULL, error IS NOT NULL, connect_us IS NULL FROM http_probes "
      "WHERE address = '127.0.0.10'");
  EXPECT_TRUE(dead[0].as<bool>() && dead[1].as<bool>() && dead[2].as<bool>());

  // The scoring features.
  const auto same_body = tx.exec(
      "SELECT w.domain, v.same_body_addresses, v.distinct_body_hashes, v.probed_addresses "
      "FROM http_same_body_addresses v JOIN watchlist w USING (domain_id) ORDER BY w.domain");
  ASSERT_EQ(same_body.size(), 2U);
  EXPECT_EQ(same_body[0][1].as<int>(), 1);  // diff: each page from one address
  EXPECT_EQ(same_body[0][2].as<int>(), 4);
  EXPECT_EQ(same_body[1][1].as<int>(), 4);  // same: one page from four addresses
  EXPECT_EQ(same_body[1][2].as<int>(), 1);
  EXPECT_EQ(same_body[1][3].as<int>(), 4);
  const auto spread = tx.exec(
      "SELECT w.domain, v.samples, v.addresses, v.min_connect_us <= v.max_connect_us, "
      "v.stddev_connect_us >= 0, v.p10_p90_connect_us >= 0 "
      "FROM http_connect_time_spread v JOIN watchlist w USING (domain_id) ORDER BY w.domain");
  ASSERT_EQ(spread.size(), 2U);
  for (const auto& row : spread) {
    EXPECT_EQ(row[1].as<int>(), 4);
    EXPECT_EQ(row[2].as<int>(), 4);
    EXPECT_TRUE(row[3].as<bool>() && row[4].as<bool>() && row[5].as<bool>());
  }
}

}  // namespace
}  // namespace fluxwatch::fetch
