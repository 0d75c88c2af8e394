#pragma once
/// What every crawler test binary needs: c-ares initialised once for the binary (as main()
/// does in the app), and a run of queries collected with its statistics.

#include <gtest/gtest.h>

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

}  // namespace fluxwatch::testing
