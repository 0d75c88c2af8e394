// The crawler's server table against the lab: servers added after construction
// (Crawler::server_index, as authoritative probing does for a domain's name servers), the
// per-query RD bit, and IPv6 servers ([::1]). The lab's deleg.test name servers
// (deploy/lab/README.md) tell the servers apart by their answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crawl_support.h"
#include "fluxwatch/crawler/crawler.h"
#include "support/test_env.h"

namespace fluxwatch::crawler {
namespace {

CrawlerOptions options_for(std::vector<Endpoint> servers) {
  CrawlerOptions options;
  options.servers = std::move(servers);
  options.timeout = std::chrono::milliseconds(1000);
  return options;
}

std::vector<ProbeResult> run(Crawler& crawler, const std::vector<Query>& queries) {
  std::vector<ProbeResult> results;
  crawler.run(queries, [&](ProbeResult&& result) { results.push_back(std::move(result)); });
  return results;
}

/// Sorted A addresses of the answer.
std::vector<std::string> addresses(const ProbeResult& result) {
  std::vector<std::string> out;
  for (const auto& record : result.records) {
    if (record.section == Section::Answer && record.type == 1) {
      out.push_back(record.data);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Name server B of deleg.test, as the lab serves it.
Endpoint ns_b(Crawler& crawler) {
  Query lookup;
  lookup.name = "ns-b.deleg.test";
  const auto found = run(crawler, {lookup});
  EXPECT_EQ(found.size(), 1U);
  const auto address = addresses(found.at(0));
  EXPECT_EQ(address.size(), 1U);
  return Endpoint{address.at(0), testing::lab_server().port};
}

TEST(CrawlerServers, ServerIndexAddsAServerAskedOnlyByIndex) {
  Crawler crawler(options_for({testing::lab_server()}));
  const Endpoint b = ns_b(crawler);
  EXPECT_EQ(crawler.server_index(testing::lab_server()), 0U);
  const std::size_t index = crawler.server_index(b);
  EXPECT_EQ(index, 1U);
  EXPECT_EQ(crawler.server_index(b), 1U);  // found, not added again
  ASSERT_EQ(crawler.servers().size(), 2U);
  EXPECT_EQ(crawler.servers()[1], b.to_string());

  Query direct;
  direct.name = "disagree.deleg.test";
  direct.server = index;
  direct.recursion_desired = false;
  direct.mode = ProbeMode::Authoritative;
  direct.server_name = "ns-b.deleg.test";
  Query spread;
  spread.name = "disagree.deleg.test";
  const auto results = run(crawler, {direct, spread, spread, spread});
  ASSERT_EQ(results.size(), 4U);
  int at_b = 0;
  for (const auto& result : results) {
    ASSERT_EQ(result.outcome, Outcome::NoError) << result.detail;
    EXPECT_TRUE(result.authoritative);
    if (result.resolver == b.to_string()) {
      ++at_b;
      EXPECT_EQ(result.mode, ProbeMode::Authoritative);
      EXPECT_EQ(result.server_name, "ns-b.deleg.test");
      // ns-b serves its own copy of the zone: other addresses than the main server.
      EXPECT_EQ(addresses(result).size(), 2U);
      EXPECT_EQ(addresses(result).at(0).substr(addresses(result).at(0).rfind('.')), ".3");
    } else {
      EXPECT_EQ(result.resolver, testing::lab_server().to_string());
      EXPECT_EQ(result.mode, ProbeMode::Recursive);
      EXPECT_TRUE(result.server_name.empty());
      EXPECT_EQ(addresses(result).at(0).substr(addresses(result).at(0).rfind('.')), ".1");
    }
  }
  EXPECT_EQ(at_b, 1);  // kAnyServer spreads over the configured servers only
}

TEST(CrawlerServers, SubmitToAnAddedServerWhileOthersAreInFlight) {
  Crawler crawler(options_for({testing::lab_server()}));
  const Endpoint b = ns_b(crawler);
  Query first;
  first.name = "agree.deleg.test";
  ASSERT_TRUE(crawler.submit(first));
  Query second = first;
  second.server = crawler.server_index(b);  // added while `first` is in flight
  second.recursion_desired = false;
  ASSERT_TRUE(crawler.submit(second));
  std::vector<ProbeResult> results;
  ASSERT_TRUE(testing::wait_until(
      [&] {
        crawler.poll(std::chrono::milliseconds(50),
                     [&](ProbeResult&& result) { results.push_back(std::move(result)); });
        return results.size() == 2;
      },
      std::chrono::milliseconds(10000)));
  std::set<std::string> resolvers;
  for (const auto& result : results) {
    EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
    resolvers.insert(result.resolver);
  }
  EXPECT_EQ(resolvers.size(), 2U);
}

TEST(CrawlerServers, Ipv6Server) {
  std::ifstream in("/proc/net/if_inet6");
  std::string line;
  bool have = false;
  while (std::getline(in, line)) {
    have = have || line.rfind("00000000000000000000000000000001 ", 0) == 0;
  }
  if (!have) {
    GTEST_SKIP() << "no ::1 on this machine (the lab listens on [::1] only when it exists)";
  }
  const auto v6 = parse_endpoint("[::1]:" + std::to_string(testing::lab_server().port));
  ASSERT_TRUE(v6.has_value());
  Crawler crawler(options_for({*v6}));
  Query query;
  query.name = "agree.deleg.test";
  const auto results = run(crawler, {query});
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].outcome, Outcome::NoError) << results[0].detail;
  EXPECT_EQ(results[0].resolver, v6->to_string());
  EXPECT_EQ(addresses(results[0]).size(), 2U);
}

}  // namespace
}  // namespace fluxwatch::crawler
