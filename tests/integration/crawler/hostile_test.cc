// The crawler against a misbehaving DNS server (tests/support/hostile_dns.py on loopback):
// every way a server can break a reply ends as an outcome, with a detail that says what
// happened, and never as a crash, a leak or a hang; the real lab server next to it keeps
// being answered at full speed. docs/hostile-dns.md has the table; hostile_probe_test.cc
// checks the same outcomes stored by `fluxwatch probe`.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crawl_support.h"
#include "fluxwatch/crawler/crawler.h"
#include "hostile_cases.h"
#include "support/hostile_dns.h"
#include "support/test_env.h"

namespace fluxwatch::crawler {
namespace {

using testing::crawl;
using testing::CrawlRun;

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::HostileDnsServer;

CrawlerOptions options_for(const std::vector<Endpoint>& servers) {
  CrawlerOptions options;
  options.servers = servers;
  options.recursion_desired = false;
  options.timeout = kTimeout;
  options.tries = kTries;
  return options;
}

std::vector<const ResourceRecord*> a_answers(const ProbeResult& result) {
  std::vector<const ResourceRecord*> out;
  for (const auto& record : result.records) {
    if (record.section == Section::Answer && record.type == static_cast<int>(RrType::A)) {
      out.push_back(&record);
    }
  }
  return out;
}

/// The checks every result of `expected` must pass, wherever it ran.
void expect_outcome(const ProbeResult& result, const Expected& expected) {
  SCOPED_TRACE(result.name + ": " + result.detail);
  EXPECT_EQ(outcome_name(result.outcome), outcome_name(expected.outcome));
  EXPECT_EQ(result.rcode, expected.rcode);
  EXPECT_EQ(result.via_tcp, expected.via_tcp);
  EXPECT_EQ(a_answers(result).size(), expected.answers);
  if (result.outcome != Outcome::NoError && result.outcome != Outcome::NoData) {
    EXPECT_TRUE(a_answers(result).empty());
  }
}

class HostileCase : public ::testing::TestWithParam<Expected> {};

TEST_P(HostileCase, EndsAsItsOutcome) {
  const Expected& expected = GetParam();
  const HostileDnsServer server;
  Crawler crawler(options_for({server.endpoint()}));
  const auto started = std::chrono::steady_clock::now();
  const CrawlRun run = crawl(crawler, {Query{11, HostileDnsServer::name(expected.behaviour)}});
  const auto elapsed = std::chrono::steady_clock::now() - started;

  ASSERT_EQ(run.results.size(), 1U);
  const ProbeResult& result = run.results[0];
  expect_outcome(result, expected);
  EXPECT_EQ(result.domain_id, 11);
  EXPECT_EQ(result.resolver, server.endpoint().to_string());
  if (expected.detail.empty()) {
    EXPECT_EQ(result.detail, "");
  } else {
    EXPECT_THAT(result.detail, HasSubstr(expected.detail));
  }
  EXPECT_EQ(run.stats.mismatched, expected.mismatched) << result.detail;
  EXPECT_EQ(run.stats.queries, 1U);
  EXPECT_EQ(run.stats.answered + run.stats.timeouts + run.stats.failures, 1U);
  EXPECT_EQ(run.stats.tcp_retries, expected.via_tcp ? 1U : 0U);
  // Nothing waits longer than c-ares's two tries, plus slack.
  EXPECT_LT(elapsed, kTotalTimeout + milliseconds(2000));
  if (result.outcome == Outcome::Timeout) {
    EXPECT_GE(result.latency, kTotalTimeout - milliseconds(1));
  }
}

INSTANTIATE_TEST_SUITE_P(Hostile, HostileCase, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Expected>& param_info) {
                           std::string name;
                           for (const char c : param_info.param.behaviour) {
                             name.push_back(c == '-' ? '_' : c);
                           }
                           return name;
                         });

TEST(Hostile, SpoofedReplyIsRejectedAndTheRealOneKept) {
  const HostileDnsServer server;
  Crawler crawler(options_for({server.endpoint()}));
  const CrawlRun run = crawl(crawler, {Query{1, HostileDnsServer::name("spoof")}});
  ASSERT_EQ(run.results.size(), 1U);
  const auto answers = a_answers(run.results[0]);
  ASSERT_EQ(answers.size(), 1U);
  EXPECT_EQ(answers[0]->data, "127.53.0.3");  // not the spoofed 127.66.66.66
  EXPECT_EQ(run.stats.mismatched, 1U);
  EXPECT_EQ(run.stats.answered, 1U);
}

TEST(Hostile, EmptyDatagramDoesNotHideTheAnswerBehindIt) {
  // The empty datagram and the answer right behind it often arrive in one recvmmsg of the
  // crawler's read-ahead: the empty one is counted and dropped, the answer is taken at once
  // (not after a timeout). Many at once, so that replies queue up behind each other.
  const HostileDnsServer server;
  Crawler crawler(options_for({server.endpoint()}));
  std::vector<Query> queries;
  for (std::int64_t id = 1; id <= 200; ++id) {
    queries.push_back(Query{id, HostileDnsServer::name("empty-then-ok")});
  }
  const CrawlRun run = crawl(crawler, queries);
  ASSERT_EQ(run.results.size(), queries.size());
  for (const ProbeResult& result : run.results) {
    EXPECT_EQ(result.outcome, Outcome::NoError) << result.detail;
    const auto answers = a_answers(result);
    ASSERT_EQ(answers.size(), 1U);
    EXPECT_EQ(answers[0]->data, "127.53.0.14");
    // Waiting for a timeout would make the latency at least kTimeout by construction;
    // anything less is the answer taken at once, whatever the load on the machine.
    EXPECT_LT(result.latency, kTimeout) << "the answer waited for a timeout";
  }
  EXPECT_EQ(run.stats.mismatched, queries.size());  // the empty datagrams
}

TEST(Hostile, HugeTtlsAreKeptAsSent) {
  const HostileDnsServer server;
  Crawler crawler(options_for({server.endpoint()}));
  const CrawlRun run = crawl(crawler, {Query{1, HostileDnsServer::name("huge-ttl")}});
  ASSERT_EQ(run.results.size(), 1U);
  std::set<std::uint32_t> ttls;
  for (const auto* record : a_answers(run.results[0])) {
    ttls.insert(record->ttl);
  }
  EXPECT_EQ(ttls, (std::set<std::uint32_t>{0x80000000U, 0xFFFFFFFFU}));
}

TEST(Hostile, TcpResetMidAnswerSaysHowMuchCame) {
  const HostileDnsServer server;
  Crawler crawler(options_for({server.endpoint()}));
  const CrawlRun run = crawl(crawler, {Query{1, HostileDnsServer::name("tc-reset")}});
  ASSERT_EQ(run.results.size(), 1U);
  const ProbeResult& result = run.results[0];
  EXPECT_EQ(result.outcome, Outcome::NetError) << result.detail;
  EXPECT_TRUE(result.via_tcp);
  EXPECT_THAT(result.detail, HasSubstr("UDP answer was truncated; TCP retry failed: "));
  EXPECT_THAT(result.detail, HasSubstr("TCP connection to " + server.endpoint().to_string()));
  // hostile_dns.py sends half of its answer (header, question, 50 A records) after the
  // 2-byte length, then resets.
  const std::size_t answer = 12 + (std::string("tc-reset.hostile.test").size() + 2 + 4) + 50 * 16;
  EXPECT_THAT(result.detail, HasSubstr(fmt::format("after {} of the {} bytes of an answer",
                                                   2 + answer / 2, 2 + answer)));
}

TEST(Hostile, EdnsIntolerantServerIsRememberedPerServer) {
  const HostileDnsServer server;
  Crawler crawler(options_for({server.endpoint()}));
  const CrawlRun first = crawl(crawler, {Query{1, HostileDnsServer::name("noedns")}});
  ASSERT_EQ(first.results.size(), 1U);
  EXPECT_EQ(first.results[0].outcome, Outcome::NoError) << first.results[0].detail;
  EXPECT_EQ(first.stats.edns_fallbacks, 1U);
  EXPECT_THAT(first.results[0].detail, HasSubstr("FORMERR without OPT"));

  // The crawler remembers: later queries to this server go without OPT, so no fallback.
  const CrawlRun second = crawl(crawler, {Query{2, HostileDnsServer::name("noedns")},
                                          Query{3, HostileDnsServer::name("big-tcp")}});
  ASSERT_EQ(second.results.size(), 2U);
  for (const auto& result : second.results) {
    EXPECT_EQ(result.outcome, Outcome::NoError) << result.name << ": " << result.detail;
    EXPECT_EQ(result.detail, "");
  }
  EXPECT_EQ(second.stats.edns_fallbacks, 0U);

  // A FORMERR without OPT to a query without OPT is a FORMERR: c-ares 1.18 would take it
  // for an EDNS rejection and cut 11 bytes off the question (a timeout); the crawler
  // keeps c-ares from it.
  const CrawlRun third = crawl(crawler, {Query{7, HostileDnsServer::name("formerr")}});
  ASSERT_EQ(third.results.size(), 1U);
  EXPECT_EQ(third.results[0].outcome, Outcome::FormErr) << third.results[0].detail;
  EXPECT_EQ(third.results[0].rcode, 1);
  EXPECT_EQ(third.stats.edns_fallbacks, 0U);

  // A genuine FORMERR (with OPT) is an outcome, not a reason to drop EDNS0.
  Crawler fresh(options_for({server.endpoint()}));
  const CrawlRun formerr = crawl(fresh, {Query{4, HostileDnsServer::name("formerr")},
                                         Query{5, HostileDnsServer::name("noedns")}});
  EXPECT_EQ(formerr.stats.edns_fallbacks, 1U);

  // Without EDNS0 at all there is nothing to fall back from.
  auto plain_options = options_for({server.endpoint()});
  plain_options.edns = false;
  Crawler plain(plain_options);
  const CrawlRun none = crawl(plain, {Query{6, HostileDnsServer::name("noedns")}});
  ASSERT_EQ(none.results.size(), 1U);
  EXPECT_EQ(none.results[0].outcome, Outcome::NoError);
  EXPECT_EQ(none.results[0].detail, "");
  EXPECT_EQ(none.stats.edns_fallbacks, 0U);
}

TEST(Hostile, MixedWithTheLabEverythingEndsAndTheLabKeepsPace) {
  const HostileDnsServer server;
  // tc-reset gets a server of its own: queries in flight together share c-ares's one TCP
  // connection to a server, and the reset would end tc-good's and big-tcp's too.
  const HostileDnsServer resetting;
  const Endpoint lab = testing::lab_server();
  auto options = options_for({lab, server.endpoint(), resetting.endpoint()});
  options.max_in_flight = 100;  // the lab's pdns drops queries beyond ~190 in flight
  Crawler crawler(options);
  const std::vector<std::string> lab_names{"benign-news.test", "www.benign-bank.test",
                                           "mail.benign-news.test", "chain-end.errors.test",
                                           "flux-alpha.test"};
  std::vector<Query> queries;
  std::map<std::int64_t, const Expected*> hostile;
  std::int64_t id = 0;
  for (int round = 0; round < 3; ++round) {  // every hostile name 3 times, among lab names
    for (const auto& expected : cases()) {
      for (int i = 0; i < 40; ++i, ++id) {
        queries.push_back(
            Query{id, lab_names[static_cast<std::size_t>(id) % lab_names.size()], RrType::A, 0});
      }
      hostile[id] = &expected;
      const std::size_t index = expected.behaviour == "tc-reset" ? 2 : 1;
      queries.push_back(Query{id++, HostileDnsServer::name(expected.behaviour), RrType::A, index});
    }
  }
  const CrawlRun run = crawl(crawler, queries);

  ASSERT_EQ(run.results.size(), queries.size());
  std::set<std::int64_t> seen;
  std::size_t lab_results = 0;
  std::vector<std::chrono::microseconds> lab_latencies;
  for (const auto& result : run.results) {
    EXPECT_TRUE(seen.insert(result.domain_id).second) << "twice: " << result.domain_id;
    if (const auto found = hostile.find(result.domain_id); found != hostile.end()) {
      EXPECT_EQ(result.resolver, found->second->behaviour == "tc-reset"
                                     ? resetting.endpoint().to_string()
                                     : server.endpoint().to_string());
      expect_outcome(result, *found->second);
    } else {
      ++lab_results;
      EXPECT_EQ(result.resolver, lab.to_string());
      EXPECT_EQ(result.outcome, Outcome::NoError) << result.name << ": " << result.detail;
      EXPECT_FALSE(a_answers(result).empty()) << result.name;
      EXPECT_EQ(result.detail, "") << result.name;
      lab_latencies.push_back(result.latency);
    }
  }
  // Not held up by the hostile server: the lab answers inside one timeout (a rare query
  // that pdns dropped and c-ares re-sent may take longer; 95% must not). Waiting for the
  // hostile server's silence would cost kTimeout to kTotalTimeout.
  ASSERT_FALSE(lab_latencies.empty());
  std::sort(lab_latencies.begin(), lab_latencies.end());
  EXPECT_LT(lab_latencies[lab_latencies.size() * 95 / 100], kTimeout);
  EXPECT_EQ(seen.size(), queries.size());
  EXPECT_EQ(lab_results, queries.size() - hostile.size());
  // Replies c-ares must drop, per round: one per try of wrong-id, short-header, empty,
  // random, wrong-name and wrong-type (2 tries each), spoof's one.
  EXPECT_GE(run.stats.mismatched, 3U * 13U);
  // Timeouts run concurrently, not one per hostile query (78 of them, 1.5 s each): their
  // waits overlap, from the results' own send times and latencies.
  std::vector<ProbeResult> timeouts;
  std::copy_if(run.results.begin(), run.results.end(), std::back_inserter(timeouts),
               [](const ProbeResult& result) { return result.outcome == Outcome::Timeout; });
  ASSERT_FALSE(timeouts.empty());
  EXPECT_GT(testing::max_in_flight(timeouts), timeouts.size() / 2);
}

}  // namespace
}  // namespace fluxwatch::crawler
