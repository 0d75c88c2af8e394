#pragma once
/// What every crawler test binary needs: c-ares initialised once for the binary (as main()
/// does in the app), and a run of queries collected with its statistics.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "fluxwatch/common/types.h"
#include "fluxwatch/crawler/crawler.h"

namespace fluxwatch::testing {

using crawler::AresLibrary;
using crawler::Crawler;
using crawler::CrawlStats;
using crawler::Query;

class AresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { library_.emplace(); }
  void TearDown() override { library_.reset(); }

 private:
  std::optional<AresLibrary> library_;
};
/// One per test binary (an inline variable), before any test runs; gtest takes ownership.
inline auto* const g_ares_environment = ::testing::AddGlobalTestEnvironment(new AresEnvironment);

/// The results of Crawler::run, in completion order, and its statistics.
struct CrawlRun {
  CrawlStats stats;
  std::vector<ProbeResult> results;
};

inline CrawlRun crawl(Crawler& crawler, const std::vector<Query>& queries) {
  CrawlRun run;
  run.stats =
      crawler.run(queries, [&](ProbeResult&& result) { run.results.push_back(std::move(result)); });
  return run;
}

/// The most results that were in flight at one moment, from their own recorded send times
/// and latencies ([sent_at, sent_at + latency]). "Timeouts run concurrently" is a claim
/// about overlap, which this checks without timing the test against the wall clock.
inline std::size_t max_in_flight(const std::vector<ProbeResult>& results) {
  std::vector<std::pair<std::chrono::system_clock::time_point, int>> edges;
  for (const auto& result : results) {
    edges.emplace_back(result.sent_at, 1);
    edges.emplace_back(result.sent_at + result.latency, -1);
  }
  std::sort(edges.begin(), edges.end());  // an end sorts before a start at the same instant
  std::size_t open = 0;
  std::size_t most = 0;
  for (const auto& edge : edges) {
    open = edge.second > 0 ? open + 1 : open - 1;
    most = std::max(most, open);
  }
  return most;
}

}  // namespace fluxwatch::testing
