// Integration tests of the crawler against the real lab (PowerDNS with LUA records and a
// never-answering server, both on loopback; see deploy/lab/README.md).
#include "fluxwatch/crawler/crawler.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "crawl_support.h"
#include "fluxwatch/common/error.h"
#include "support/test_env.h"

namespace fluxwatch::crawler {
namespace {

using testing::crawl;

using std::chrono::milliseconds;
using ::testing::Each;
using ::testing::Field;

constexpr std::uint16_t kA = 1;
constexpr std::uint16_t kNs = 2;
constexpr std::uint16_t kCname = 5;
constexpr std::uint16_t kSoa = 6;
constexpr std::uint16_t kAaaa = 28;

CrawlerOptions lab_options() {
  CrawlerOptions options;
  options.servers = {testing::lab_server()};
  options.recursion_desired = false;  // an authoritative server
  options.timeout = milliseconds(2000);
  options.tries = 2;
  return options;
}

ProbeResult resolve_one(const std::string& name, RrType type = RrType::A,
                        CrawlerOptions options = lab_options()) {
  Crawler crawler(std::move(options));
  auto run = crawl(crawler, {Query{7, name, type}});
  EXPECT_EQ(run.results.size(), 1U);
  return run.results.empty() ? ProbeResult{} : std::move(run.results.front());
}

std::vector<ResourceRecord> answers(const ProbeResult& result, std::uint16_t type) {
  std::vector<ResourceRecord> out;
  std::copy_if(
      result.records.begin(), result.records.end(), std::back_inserter(out),
      [type](const ResourceRecord& r) { return r.section == Section::Answer && r.type == type; });
  return out;
}

std::set<std::string> data_of(const std::vector<ResourceRecord>& records) {
  std::set<std::string> out;
  for (const auto& record : records) {
    out.insert(record.data);
  }
  return out;
}

TEST(Crawler, StaticARecordsWithTtl) {
  const auto before = std::chrono::system_clock::now();
  const ProbeResult result = resolve_one("benign-news.test");
  EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
  EXPECT_EQ(result.rcode, 0);
  EXPECT_EQ(result.domain_id, 7);
  EXPECT_EQ(result.name, "benign-news.test");
  EXPECT_EQ(result.qtype, RrType::A);
  EXPECT_EQ(result.resolver, testing::lab_server().to_string());
  EXPECT_FALSE(result.via_tcp);
  EXPECT_GE(result.sent_at, before);
  EXPECT_LE(result.sent_at, std::chrono::system_clock::now());
  EXPECT_GT(result.latency.count(), 0);
  EXPECT_LT(result.latency, milliseconds(2000));
  const auto a = answers(result, kA);
  ASSERT_EQ(a.size(), 2U);
  EXPECT_THAT(a, Each(Field(&ResourceRecord::ttl, 3600U)));
  EXPECT_THAT(a, Each(Field(&ResourceRecord::owner, "benign-news.test")));
  EXPECT_EQ(data_of(a), (std::set<std::string>{"127.120.1.1", "127.120.1.2"}));
}

TEST(Crawler, StaticAaaaRecord) {
  const ProbeResult result = resolve_one("benign-news.test", RrType::AAAA);
  EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
  const auto aaaa = answers(result, kAaaa);
  ASSERT_EQ(aaaa.size(), 1U);
  EXPECT_EQ(aaaa[0].data, "2001:db8:120::10");
  EXPECT_EQ(aaaa[0].ttl, 3600U);
}

TEST(Crawler, NxDomainCarriesSoa) {
  const ProbeResult result = resolve_one("does-not-exist.errors.test");
  EXPECT_EQ(result.outcome, Outcome::NxDomain);
  EXPECT_EQ(result.rcode, 3);
  ASSERT_EQ(result.records.size(), 1U);
  EXPECT_EQ(result.records[0].section, Section::Authority);
  EXPECT_EQ(result.records[0].type, kSoa);
  EXPECT_EQ(result.records[0].owner, "errors.test");
  EXPECT_EQ(result.records[0].data.rfind("ns1.errors.test hostmaster.errors.test ", 0), 0U)
      << result.records[0].data;
}

TEST(Crawler, ServFailIsAnOutcomeNotARetry) {
  Crawler crawler(lab_options());
  const auto run = crawl(crawler, {Query{1, "servfail.errors.test", RrType::A}});
  ASSERT_EQ(run.results.size(), 1U);
  EXPECT_EQ(run.results[0].outcome, Outcome::ServFail);
  EXPECT_EQ(run.results[0].rcode, 2);
  EXPECT_EQ(run.stats.answered, 1U);
  EXPECT_EQ(run.stats.failures, 0U);
}

TEST(Crawler, RefusedOutsideTheLabZones) {
  const ProbeResult result = resolve_one("www.not-a-lab-zone.example");
  EXPECT_EQ(result.outcome, Outcome::Refused);
  EXPECT_EQ(result.rcode, 5);
}

TEST(Crawler, NoDataForMissingType) {
  const ProbeResult a = resolve_one("v6only.errors.test");
  EXPECT_EQ(a.outcome, Outcome::NoData);
  EXPECT_EQ(a.rcode, 0);
  EXPECT_TRUE(answers(a, kA).empty());
  const ProbeResult aaaa = resolve_one("v6only.errors.test", RrType::AAAA);
  EXPECT_EQ(aaaa.outcome, Outcome::NoError);
  EXPECT_EQ(data_of(answers(aaaa, kAaaa)), std::set<std::string>{"2001:db8:120::11"});
}

TEST(Crawler, CnameChainWithTtls) {
  const ProbeResult result = resolve_one("chain.errors.test");
  EXPECT_EQ(result.outcome, Outcome::NoError);
  const std::vector<ResourceRecord> expected{
      {Section::Answer, "chain.errors.test", kCname, 300, "chain2.errors.test"},
      {Section::Answer, "chain2.errors.test", kCname, 300, "chain3.errors.test"},
      {Section::Answer, "chain3.errors.test", kCname, 300, "chain-end.errors.test"},
      {Section::Answer, "chain-end.errors.test", kA, 300, "127.200.3.1"}};
  std::vector<ResourceRecord> answer;
  std::copy_if(result.records.begin(), result.records.end(), std::back_inserter(answer),
               [](const ResourceRecord& r) { return r.section == Section::Answer; });
  EXPECT_EQ(answer, expected);
}

TEST(Crawler, TruncatedAnswerIsReaskedOverTcp) {
  Crawler crawler(lab_options());
  const auto run = crawl(crawler, {Query{1, "tc.errors.test", RrType::A}});
  ASSERT_EQ(run.results.size(), 1U);
  const ProbeResult& result = run.results[0];
  EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
  EXPECT_TRUE(result.via_tcp);
  const auto a = answers(result, kA);
  EXPECT_EQ(a.size(), 100U);
  EXPECT_EQ(data_of(a).size(), 100U);
  EXPECT_EQ(run.stats.tcp_retries, 1U);
  EXPECT_EQ(run.stats.answered, 1U);
}

TEST(Crawler, Tc512NeedsTcpOnlyWithoutEdns) {
  auto without = lab_options();
  without.edns = false;
  const ProbeResult plain = resolve_one("tc512.errors.test", RrType::A, without);
  EXPECT_EQ(plain.outcome, Outcome::NoError) << plain.detail;
  EXPECT_TRUE(plain.via_tcp);
  EXPECT_EQ(answers(plain, kA).size(), 40U);

  const ProbeResult edns = resolve_one("tc512.errors.test");  // fits in 1232 bytes
  EXPECT_EQ(edns.outcome, Outcome::NoError) << edns.detail;
  EXPECT_FALSE(edns.via_tcp);
  EXPECT_EQ(answers(edns, kA).size(), 40U);
}

TEST(Crawler, FastFluxAnswersRotate) {
  Crawler crawler(lab_options());
  std::vector<Query> queries;
  for (int i = 0; i < 10; ++i) {
    queries.push_back(Query{i, "flux-alpha.test", RrType::A});
  }
  const auto run = crawl(crawler, queries);
  ASSERT_EQ(run.results.size(), 10U);
  std::set<std::string> all;
  std::set<std::set<std::string>> distinct_sets;
  for (const auto& result : run.results) {
    EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
    const auto a = answers(result, kA);
    EXPECT_EQ(a.size(), 5U);
    EXPECT_THAT(a, Each(Field(&ResourceRecord::ttl, 30U)));
    const auto set = data_of(a);
    all.insert(set.begin(), set.end());
    distinct_sets.insert(set);
  }
  EXPECT_GT(all.size(), 5U);
  EXPECT_GE(distinct_sets.size(), 2U);
}

TEST(Crawler, DoubleFluxNsRotates) {
  Crawler crawler(lab_options());
  std::vector<Query> queries(10, Query{1, "dflux.test", RrType::NS});
  const auto run = crawl(crawler, queries);
  ASSERT_EQ(run.results.size(), 10U);
  std::set<std::string> targets;
  const std::regex host(R"(ns\d\d\.dflux\.test)");
  for (const auto& result : run.results) {
    EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
    const auto ns = answers(result, kNs);
    EXPECT_EQ(ns.size(), 3U);
    for (const auto& record : ns) {
      EXPECT_EQ(record.owner, "dflux.test");
      EXPECT_EQ(record.ttl, 30U);
      EXPECT_TRUE(std::regex_match(record.data, host)) << record.data;
      targets.insert(record.data);
    }
  }
  EXPECT_GT(targets.size(), 3U);
}

TEST(Crawler, BlackholeTimesOut) {
  CrawlerOptions options = lab_options();
  options.servers = {testing::lab_blackhole()};
  options.timeout = milliseconds(200);
  options.tries = 1;
  Crawler crawler(options);
  const auto run = crawl(crawler, {Query{3, "flux-alpha.test", RrType::A}});
  ASSERT_EQ(run.results.size(), 1U);
  const ProbeResult& result = run.results[0];
  EXPECT_EQ(result.outcome, Outcome::Timeout);
  EXPECT_EQ(result.rcode, -1);
  EXPECT_TRUE(result.records.empty());
  EXPECT_FALSE(result.detail.empty());
  EXPECT_EQ(result.resolver, testing::lab_blackhole().to_string());
  EXPECT_GE(result.latency, milliseconds(199));
  EXPECT_LT(result.latency, milliseconds(1500));
  EXPECT_EQ(run.stats.timeouts, 1U);
  EXPECT_EQ(run.stats.answered, 0U);
}

TEST(Crawler, SilentServerDoesNotHoldUpTheOther) {
  CrawlerOptions options = lab_options();
  const std::string lab = testing::lab_server().to_string();
  const std::string blackhole = testing::lab_blackhole().to_string();
  options.servers = {testing::lab_server(), testing::lab_blackhole()};
  options.timeout = milliseconds(200);
  options.tries = 1;
  Crawler crawler(options);
  EXPECT_EQ(crawler.servers(), (std::vector<std::string>{lab, blackhole}));

  const std::vector<std::string> names{"benign-news.test", "www.benign-bank.test",
                                       "mail.benign-news.test", "chain-end.errors.test"};
  std::vector<Query> queries;
  for (int i = 0; i < 210; ++i) {
    queries.push_back(Query{i, names[static_cast<std::size_t>(i) % names.size()], RrType::A});
  }
  const auto run = crawl(crawler, queries);

  ASSERT_EQ(run.results.size(), queries.size());
  std::set<std::int64_t> ids;
  std::map<std::string, int> per_server;
  std::vector<ProbeResult> timeouts;
  for (const auto& result : run.results) {
    EXPECT_TRUE(ids.insert(result.domain_id).second) << "twice: " << result.domain_id;
    ++per_server[result.resolver];
    if (result.resolver == lab) {
      // One try of 200 ms: an answer counted as NoError came inside it, so it did not wait
      // for the silent server (a latency bound here would time the loaded machine instead).
      EXPECT_EQ(result.outcome, Outcome::NoError) << result.name << ": " << result.detail;
    } else {
      EXPECT_EQ(result.resolver, blackhole);
      EXPECT_EQ(result.outcome, Outcome::Timeout);
      timeouts.push_back(result);
    }
  }
  EXPECT_EQ(ids.size(), queries.size());
  EXPECT_EQ(per_server[lab], 105);  // queries alternate between the two servers
  EXPECT_EQ(per_server[blackhole], 105);
  EXPECT_EQ(run.stats.answered, 105U);
  EXPECT_EQ(run.stats.timeouts, 105U);
  // Timeouts run concurrently, not one after another: their waits overlap (measured from
  // the results' own send times and latencies, whatever the load on the machine).
  EXPECT_GT(testing::max_in_flight(timeouts), timeouts.size() / 2);
}

TEST(Crawler, ManyQueriesEachGetExactlyOneResult) {
  CrawlerOptions options = lab_options();
  options.max_in_flight = 500;
  // pdns reads its one UDP socket (default 208 KiB buffer, ~190 queries) from one thread:
  // a window of 500 to that one server overflows it and the overflow is dropped by the
  // kernel. Those queries are answered on a retry; short, more tries keep this quick.
  options.timeout = milliseconds(500);
  options.tries = 4;
  Crawler crawler(options);
  const std::vector<std::string> names{"benign-news.test", "www.benign-bank.test",
                                       "mail.benign-news.test", "chain-end.errors.test"};
  std::vector<Query> queries;
  for (int i = 0; i < 5000; ++i) {
    queries.push_back(Query{i, names[static_cast<std::size_t>(i) % names.size()], RrType::A});
  }
  std::vector<int> seen(queries.size(), 0);
  std::size_t calls = 0;
  std::size_t not_noerror = 0;
  const CrawlStats stats = crawler.run(queries, [&](ProbeResult&& result) {
    ++calls;
    ASSERT_GE(result.domain_id, 0);
    ASSERT_LT(result.domain_id, static_cast<std::int64_t>(queries.size()));
    ++seen[static_cast<std::size_t>(result.domain_id)];
    EXPECT_EQ(result.name, queries[static_cast<std::size_t>(result.domain_id)].name);
    if (result.outcome != Outcome::NoError) {
      ++not_noerror;
    }
  });
  EXPECT_EQ(calls, queries.size());
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(queries.size()));
  EXPECT_EQ(not_noerror, 0U);
  EXPECT_EQ(stats.queries, queries.size());
  EXPECT_EQ(stats.answered, queries.size());
  EXPECT_EQ(stats.timeouts, 0U);
  EXPECT_EQ(stats.failures, 0U);
}

TEST(Crawler, ReusableAcrossRunsAndAfterSinkThrows) {
  Crawler crawler(lab_options());
  std::vector<Query> queries(50, Query{1, "benign-news.test", RrType::A});
  int delivered = 0;
  EXPECT_THROW(crawler.run(queries,
                           [&](ProbeResult&&) {
                             if (++delivered == 5) {
                               throw std::runtime_error("sink failed");
                             }
                           }),
               std::runtime_error);
  // The aborted run left nothing behind: the next one gets exactly its own results.
  const auto run = crawl(crawler, queries);
  EXPECT_EQ(run.results.size(), queries.size());
  EXPECT_EQ(run.stats.answered, queries.size());
  const auto empty = crawl(crawler, {});
  EXPECT_TRUE(empty.results.empty());
  EXPECT_EQ(empty.stats.queries, 0U);
}

TEST(Crawler, MovedCrawlerKeepsWorking) {
  Crawler first(lab_options());
  Crawler second = std::move(first);
  const auto run = crawl(second, {Query{1, "benign-news.test", RrType::A}});
  ASSERT_EQ(run.results.size(), 1U);
  EXPECT_EQ(run.results[0].outcome, Outcome::NoError);
}

TEST(Crawler, UnencodableNameIsANetErrorWithoutSending) {
  const std::string long_label(64, 'a');  // RFC 1035 2.3.4: labels are at most 63 octets
  Crawler crawler(lab_options());
  const auto run = crawl(crawler, {Query{1, long_label + ".test", RrType::A},
                                   Query{2, "benign-news.test", RrType::A}});
  ASSERT_EQ(run.results.size(), 2U);
  for (const auto& result : run.results) {
    if (result.domain_id == 1) {
      EXPECT_EQ(result.outcome, Outcome::NetError);
      EXPECT_EQ(result.rcode, -1);
      EXPECT_FALSE(result.detail.empty());
    } else {
      EXPECT_EQ(result.outcome, Outcome::NoError);
    }
  }
  EXPECT_EQ(run.stats.failures, 1U);
}

TEST(Crawler, ClosedPortIsConnRefused) {
  // A UDP port on loopback that nothing listens on: the kernel answers with ICMP port
  // unreachable, which the connected c-ares socket reports as ECONNREFUSED.
  const Endpoint closed{"127.0.0.1", fluxwatch::testing::unused_loopback_port(SOCK_DGRAM)};
  ASSERT_NE(closed.port, 0);

  CrawlerOptions options = lab_options();
  options.servers = {closed};
  options.timeout = milliseconds(1000);
  options.tries = 1;
  Crawler crawler(options);
  const auto run = crawl(crawler, {Query{1, "benign-news.test", RrType::A}});
  ASSERT_EQ(run.results.size(), 1U);
  EXPECT_EQ(run.results[0].outcome, Outcome::ConnRefused) << run.results[0].detail;
  EXPECT_LT(run.results[0].latency, milliseconds(1000));
  EXPECT_EQ(run.stats.failures, 1U);
}

TEST(Crawler, ManyQueriesToAClosedPortAreConnRefusedNotTimeouts) {
  // Sends are batched (one sendmmsg per socket and loop pass): the first datagram of a
  // batch brings the ICMP error back at once, so later sends of the same batch may fail
  // with ECONNREFUSED. However c-ares learns of it (a read of the socket, or the failed
  // send handed over as a read error), every query must end as refused, none time out.
  const Endpoint closed{"127.0.0.1", fluxwatch::testing::unused_loopback_port(SOCK_DGRAM)};
  ASSERT_NE(closed.port, 0);

  CrawlerOptions options = lab_options();
  options.servers = {closed};
  options.timeout = milliseconds(1000);
  options.tries = 2;
  Crawler crawler(options);
  std::vector<Query> queries;
  for (std::int64_t id = 1; id <= 300; ++id) {
    queries.push_back(Query{id, "n" + std::to_string(id) + ".benign-news.test", RrType::A});
  }
  const auto run = crawl(crawler, queries);
  ASSERT_EQ(run.results.size(), queries.size());
  for (const auto& result : run.results) {
    EXPECT_EQ(result.outcome, Outcome::ConnRefused) << result.name << ": " << result.detail;
    EXPECT_LT(result.latency, milliseconds(1000)) << result.name;
  }
  EXPECT_EQ(run.stats.failures, queries.size());
}

TEST(Crawler, ServersComeFromOptionsOrTheSystem) {
  // Only constructs crawlers: nothing is sent to the system's servers.
  Crawler system{CrawlerOptions{}};
  EXPECT_FALSE(system.servers().empty());
  CrawlerOptions options;
  options.servers = {Endpoint{"127.0.0.1", 5300}, Endpoint{"::1", 5301}};
  Crawler configured(options);
  EXPECT_EQ(configured.servers(), (std::vector<std::string>{"127.0.0.1:5300", "[::1]:5301"}));
  options.servers = {Endpoint{"not-an-address", 53}};
  EXPECT_THROW(Crawler{options}, ConfigError);
}

TEST(Crawler, BadOptionsAreRejected) {
  auto zero_in_flight = lab_options();
  zero_in_flight.max_in_flight = 0;
  EXPECT_THROW(Crawler{zero_in_flight}, ConfigError);
  auto no_tries = lab_options();
  no_tries.tries = 0;
  EXPECT_THROW(Crawler{no_tries}, ConfigError);
  auto no_timeout = lab_options();
  no_timeout.timeout = milliseconds(0);
  EXPECT_THROW(Crawler{no_timeout}, ConfigError);
}

// Queries to a silent server stall after stall_after and stop counting against
// max_in_flight: the lab names behind them are all answered before the first timeout.
TEST(Crawler, StalledQueriesDoNotHoldTheWindow) {
  CrawlerOptions options = lab_options();
  options.servers = {testing::lab_server(), testing::lab_blackhole()};
  options.max_in_flight = 4;
  options.stall_after = milliseconds(50);
  options.timeout = milliseconds(3000);
  options.tries = 1;
  Crawler crawler(options);

  std::vector<Query> queries;
  for (int i = 0; i < 8; ++i) {
    queries.push_back(Query{i, "benign-news.test", RrType::A, 1});  // to the blackhole
  }
  for (int i = 8; i < 108; ++i) {
    queries.push_back(Query{i, "benign-news.test", RrType::A, 0});
  }
  const auto run = crawl(crawler, queries);
  ASSERT_EQ(run.results.size(), queries.size());
  std::size_t answered_before_first_timeout = 0;
  for (const auto& result : run.results) {
    if (result.outcome == Outcome::Timeout) {
      break;
    }
    EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
    ++answered_before_first_timeout;
  }
  EXPECT_EQ(answered_before_first_timeout, 100U);
  EXPECT_EQ(run.stats.timeouts, 8U);
}

// The same without the allowance: the silent server's queries fill the window, so the
// first results are their timeouts (what probe.stall_ms: 0 gives).
TEST(Crawler, WithoutStallAllowanceSilentQueriesHoldTheWindow) {
  CrawlerOptions options = lab_options();
  options.servers = {testing::lab_server(), testing::lab_blackhole()};
  options.max_in_flight = 4;
  options.stall_after = milliseconds(0);
  options.timeout = milliseconds(300);
  options.tries = 1;
  Crawler crawler(options);
  std::vector<Query> queries;
  for (int i = 0; i < 4; ++i) {
    queries.push_back(Query{i, "benign-news.test", RrType::A, 1});
  }
  for (int i = 4; i < 20; ++i) {
    queries.push_back(Query{i, "benign-news.test", RrType::A, 0});
  }
  const auto run = crawl(crawler, queries);
  ASSERT_EQ(run.results.size(), queries.size());
  EXPECT_EQ(run.results.front().outcome, Outcome::Timeout);
  EXPECT_EQ(run.stats.answered, 16U);
}

// Continuous use: capacity comes back once the submitted queries stall.
TEST(Crawler, CapacityReturnsWhenQueriesStall) {
  CrawlerOptions options = lab_options();
  options.servers = {testing::lab_blackhole()};
  options.max_in_flight = 2;
  options.stall_after = milliseconds(50);
  options.timeout = milliseconds(5000);
  options.tries = 1;
  Crawler crawler(options);
  ASSERT_TRUE(crawler.submit(Query{1, "benign-news.test", RrType::A}));
  ASSERT_TRUE(crawler.submit(Query{2, "benign-news.test", RrType::A}));
  EXPECT_EQ(crawler.capacity_left(), 0U);
  EXPECT_FALSE(crawler.submit(Query{3, "benign-news.test", RrType::A}));
  std::size_t delivered = 0;
  const bool reopened = testing::wait_until(
      [&] {
        delivered += crawler.poll(milliseconds(20), [](ProbeResult&&) {});
        return crawler.capacity_left() == 2;
      },
      milliseconds(3000));
  EXPECT_TRUE(reopened) << "capacity " << crawler.capacity_left();
  EXPECT_EQ(delivered, 0U) << "nothing has timed out yet";
  EXPECT_EQ(crawler.in_flight(), 2U);
  EXPECT_TRUE(crawler.submit(Query{3, "benign-news.test", RrType::A}));
}

// Continuous use counts like run() does, so a driver of submit()/poll() (authoritative
// rounds) can report dropped replies and EDNS fallbacks.
TEST(Crawler, SubmitAndPollAreCounted) {
  Crawler crawler(lab_options());
  ASSERT_TRUE(crawler.submit(Query{1, "benign-news.test", RrType::A}));
  ASSERT_TRUE(crawler.submit(Query{2, "nxdomain-nothere.errors.test", RrType::A}));
  std::size_t delivered = 0;
  ASSERT_TRUE(testing::wait_until(
      [&] {
        delivered += crawler.poll(milliseconds(20), [](ProbeResult&&) {});
        return delivered == 2;
      },
      milliseconds(5000)));
  const CrawlStats counted = crawler.stats();
  EXPECT_EQ(counted.queries, 2U);
  EXPECT_EQ(counted.answered, 2U);
  EXPECT_EQ(counted.timeouts + counted.failures, 0U);

  const auto run = crawl(crawler, {Query{3, "benign-news.test", RrType::A}});
  EXPECT_EQ(crawler.stats().queries, 1U) << "run() starts its own count";
}

}  // namespace
}  // namespace fluxwatch::crawler
