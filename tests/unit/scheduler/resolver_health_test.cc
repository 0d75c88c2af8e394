// The resolver spread and the health table: which resolver a domain goes to.
#include "fluxwatch/scheduler/resolver_health.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;
using TimePoint = ResolverHealth::TimePoint;

TEST(ResolverSpreadTest, EveryDomainMeetsEveryResolverWithinAsManyRounds) {
  // The bias of issue 17.5: with the types asked in turn over two resolvers, every A went
  // to one and every AAAA to the other. Here a domain (with all its types) moves on.
  for (std::size_t resolvers : {2U, 3U, 5U}) {
    for (std::uint64_t domain = 0; domain < 20; ++domain) {
      std::set<std::size_t> met;
      for (std::uint64_t round = 0; round < resolvers; ++round) {
        met.insert(ResolverHealth::spread(domain, round, resolvers));
      }
      EXPECT_EQ(met.size(), resolvers) << "domain " << domain;
    }
  }
}

TEST(ResolverSpreadTest, OneRoundSpreadsDomainsEvenly) {
  std::map<std::size_t, int> per_resolver;
  for (std::uint64_t domain = 0; domain < 300; ++domain) {
    ++per_resolver[ResolverHealth::spread(domain, 7, 3)];
  }
  EXPECT_EQ(per_resolver, (std::map<std::size_t, int>{{0, 100}, {1, 100}, {2, 100}}));
  EXPECT_EQ(ResolverHealth::spread(5, 9, 1), 0U);
  EXPECT_EQ(ResolverHealth::spread(5, 9, 0), 0U);
}

TEST(ResolverHealthTest, FailuresInARowMarkUnhealthyAndAnAnswerHeals) {
  ResolverHealth health(2, ResolverHealthOptions{3, milliseconds(1000)});
  EXPECT_EQ(health.record(1, true), ResolverHealth::Change::None);
  EXPECT_EQ(health.record(1, false), ResolverHealth::Change::None);  // resets the count
  EXPECT_EQ(health.record(1, true), ResolverHealth::Change::None);
  EXPECT_EQ(health.record(1, true), ResolverHealth::Change::None);
  EXPECT_TRUE(health.healthy(1));
  EXPECT_EQ(health.record(1, true), ResolverHealth::Change::BecameUnhealthy);
  EXPECT_FALSE(health.healthy(1));
  EXPECT_EQ(health.record(1, true), ResolverHealth::Change::None);
  EXPECT_EQ(health.record(1, false), ResolverHealth::Change::BecameHealthy);
  EXPECT_TRUE(health.healthy(1));
  EXPECT_EQ(health.record(7, true), ResolverHealth::Change::None);  // not a resolver
}

TEST(ResolverHealthTest, UnhealthyResolverGetsOneDomainPerRetryInterval) {
  ResolverHealth health(2, ResolverHealthOptions{1, milliseconds(1000)});
  ASSERT_EQ(health.record(1, true), ResolverHealth::Change::BecameUnhealthy);
  const TimePoint start{};
  // Its first retry goes at once, then the healthy one takes its share for a second.
  EXPECT_EQ(health.choose(1, start), 1U);
  int to_dead = 0;
  for (int ms = 0; ms < 3000; ms += 10) {
    const std::size_t preferred = static_cast<std::size_t>(ms / 10) % 2;
    if (health.choose(preferred, start + milliseconds(ms)) == 1) {
      ++to_dead;
    }
  }
  EXPECT_EQ(to_dead, 2);  // at 1000 ms and 2000 ms
}

TEST(ResolverHealthTest, AllUnhealthyMeansAskThemAnyway) {
  ResolverHealth health(2, ResolverHealthOptions{1, milliseconds(1000)});
  health.record(0, true);
  health.record(1, true);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(health.choose(1, TimePoint{} + milliseconds(i)), 1U);
    EXPECT_EQ(health.choose(0, TimePoint{} + milliseconds(i)), 0U);
  }
}

TEST(ResolverHealthTest, UsablePredicateSkipsResolversWithoutTokens) {
  ResolverHealth health(3, ResolverHealthOptions{});
  EXPECT_EQ(health.choose(0, TimePoint{}, [](std::size_t r) { return r == 2; }), 2U);
  EXPECT_EQ(health.choose(0, TimePoint{}, [](std::size_t) { return false; }), 3U);
}

}  // namespace
}  // namespace fluxwatch::scheduler
