// Token buckets with a manual clock: the limits hold from start-up on.
#include "fluxwatch/scheduler/rate_limit.h"

#include <gtest/gtest.h>

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;

class ManualClock final : public Clock {
 public:
  [[nodiscard]] time_point now() const override { return now_; }
  void advance(std::chrono::nanoseconds step) { now_ += step; }

 private:
  time_point now_{std::chrono::seconds(1000)};
};

/// Takes single tokens as fast as allowed for `span`, stepping the clock by `step`.
int taken_over(RateLimiter& limiter, ManualClock& clock, std::size_t resolver,
               std::chrono::nanoseconds span, std::chrono::nanoseconds step) {
  int taken = 0;
  const auto end = clock.now() + span;
  while (clock.now() < end) {
    while (limiter.try_acquire(resolver, 1)) {
      ++taken;
    }
    clock.advance(step);
  }
  return taken;
}

TEST(TokenBucket, StartsWithItsCapacityOnly) {
  ManualClock clock;
  TokenBucket bucket(10, 1, clock.now());
  EXPECT_TRUE(bucket.try_take(1, clock.now()));
  EXPECT_FALSE(bucket.try_take(1, clock.now()));  // no start-up burst
  clock.advance(milliseconds(99));
  EXPECT_FALSE(bucket.try_take(1, clock.now()));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(bucket.try_take(1, clock.now()));
}

TEST(TokenBucket, NeverHoldsMoreThanItsCapacity) {
  ManualClock clock;
  TokenBucket bucket(100, 3, clock.now());
  clock.advance(std::chrono::seconds(60));
  int taken = 0;
  while (bucket.try_take(1, clock.now())) {
    ++taken;
  }
  EXPECT_EQ(taken, 3);
}

TEST(TokenBucket, AvailableAtIsExact) {
  ManualClock clock;
  TokenBucket bucket(4, 2, clock.now());
  ASSERT_TRUE(bucket.try_take(2, clock.now()));
  const auto at = bucket.available_at(1, clock.now());
  EXPECT_NEAR(std::chrono::duration<double>(at - clock.now()).count(), 0.25, 0.001);
  clock.advance(at - clock.now());
  EXPECT_TRUE(bucket.try_take(1, clock.now()));
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  ManualClock clock;
  TokenBucket bucket(0, 1, clock.now());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(bucket.try_take(1, clock.now()));
  }
}

TEST(RateLimiter, OverallLimitHoldsOverAnySecond) {
  ManualClock clock;
  RateLimiter limiter(clock, 50, 0, 2, 1);
  // Alternate resolvers: the overall bucket is the binding one.
  int taken = 0;
  for (int tick = 0; tick < 3000; ++tick) {  // 3 s in 1 ms steps
    taken += limiter.try_acquire(static_cast<std::size_t>(tick % 2), 1) ? 1 : 0;
    clock.advance(milliseconds(1));
  }
  EXPECT_GE(taken, 149);
  EXPECT_LE(taken, 151);  // 50/s x 3 s + the one token it starts with
}

TEST(RateLimiter, PerResolverLimitHoldsWhenOverallAllowsMore) {
  ManualClock clock;
  RateLimiter limiter(clock, 1000, 20, 2, 1);
  const int first = taken_over(limiter, clock, 0, std::chrono::seconds(2), milliseconds(1));
  EXPECT_GE(first, 40);
  EXPECT_LE(first, 41);
  // The other resolver has its own bucket.
  EXPECT_TRUE(limiter.try_acquire(1, 1));
}

TEST(RateLimiter, MultiTokenTakesNeedAllTokensInBothBuckets) {
  ManualClock clock;
  RateLimiter limiter(clock, 10, 10, 1, 3);
  EXPECT_TRUE(limiter.try_acquire(0, 3));   // capacity is 3 (the largest take)
  EXPECT_FALSE(limiter.try_acquire(0, 3));  // nothing partial was taken ...
  clock.advance(milliseconds(299));
  EXPECT_FALSE(limiter.try_acquire(0, 3));
  clock.advance(milliseconds(2));
  EXPECT_TRUE(limiter.try_acquire(0, 3));  // ... so 3 tokens after 0.3 s
  EXPECT_GT(limiter.available_at(0, 3), clock.now());
}

TEST(RateLimiter, HighRatesAllowBurstsOfTenMillisecondsOnly) {
  ManualClock clock;
  RateLimiter limiter(clock, 10000, 0, 1, 1);
  int burst = 0;
  while (limiter.try_acquire(0, 1)) {
    ++burst;
  }
  EXPECT_EQ(burst, 100);  // 10,000/s x 10 ms
  const int second = taken_over(limiter, clock, 0, std::chrono::seconds(1), milliseconds(1));
  EXPECT_GE(second, 9990);
  EXPECT_LE(second, 10000);
}

/// A clock that moves forward on every read, like a real one between two calls.
class TickingClock final : public Clock {
 public:
  [[nodiscard]] time_point now() const override { return now_ += std::chrono::nanoseconds(1); }

 private:
  mutable time_point now_{std::chrono::seconds(1000)};
};

TEST(RateLimiter, EveryResolverUnlimitedAlwaysSucceeds) {
  TickingClock clock;
  RateLimiter limiter(clock, 0, 0, 3, 3);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.try_acquire_every(1));
  }
}

TEST(RateLimiter, EveryResolverTakesFromAllOrNone) {
  ManualClock clock;
  // 3 resolvers, 1 query per domain each: the overall limit (6/s) binds before the
  // per-resolver ones (10/s each).
  RateLimiter limiter(clock, 6, 10, 3, 3);
  EXPECT_TRUE(limiter.try_acquire_every(1));   // 3 overall, 1 from each resolver
  EXPECT_FALSE(limiter.try_acquire_every(1));  // overall has 0 left: nothing taken ...
  const auto ready = limiter.available_at_every(1);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(ready - clock.now()).count(), 500);
  clock.advance(milliseconds(501));
  EXPECT_TRUE(limiter.try_acquire_every(1));  // ... so 3 overall tokens after 0.5 s
  // Over 10 s: at most 6/s x 10 s + a burst of 3 queries, i.e. 21 domains.
  int domains = 0;
  for (int step = 0; step < 10000; ++step) {
    domains += limiter.try_acquire_every(1) ? 1 : 0;
    clock.advance(milliseconds(1));
  }
  EXPECT_GE(domains, 19);
  EXPECT_LE(domains, 21);
}

// `probe --qps Q` as run_round() paces it: an overall limit, no per-resolver one, each
// domain taking its queries' worth of tokens on the resolver it goes to; the loop waits
// until available_at() when refused. N queries then span exactly (N - burst) / Q seconds
// from the first: never less (the limit holds) and no more (the limit is not a slowdown).
TEST(RateLimiter, ProbeQpsPacesDomainsOverEveryResolverToTheLimit) {
  for (const std::size_t types : {std::size_t{1}, std::size_t{3}}) {
    ManualClock clock;
    const double qps = 30;
    RateLimiter limiter(clock, qps, 0, 2, types);  // capacity max(types, 0.3) = types
    const auto start = clock.now();
    std::size_t queries = 0;
    for (std::size_t domain = 0; domain < 40; ++domain) {
      const std::size_t resolver = domain % 2;
      while (!limiter.try_acquire(resolver, types)) {
        const auto ready = limiter.available_at(resolver, types);
        ASSERT_GT(ready, clock.now());
        clock.advance(ready - clock.now());
      }
      queries += types;
    }
    const double seconds = std::chrono::duration<double>(clock.now() - start).count();
    const double bound = static_cast<double>(queries - types) / qps;  // burst: one domain
    EXPECT_GE(seconds, bound - 1e-6) << types;
    EXPECT_LE(seconds, bound + 40 * 1e-6) << types;  // available_at() rounds up by 1 us
  }
}

}  // namespace
}  // namespace fluxwatch::scheduler
