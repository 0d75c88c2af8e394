// DomainFeed: the watchlist handed from its loader thread to a round while it loads.
#include "fluxwatch/scheduler/domain_feed.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "fluxwatch/common/error.h"

namespace fluxwatch::scheduler {
namespace {

using std::chrono::milliseconds;

WatchedDomain domain(std::int64_t id) { return {id, "n" + std::to_string(id) + ".example"}; }

TEST(DomainFeedTest, AFeedMadeFromAListIsCompleteAtOnce) {
  const DomainFeed feed(std::vector<WatchedDomain>{domain(1), domain(2)});
  EXPECT_TRUE(feed.complete());
  EXPECT_EQ(feed.wait_for_total(), 2U);
  EXPECT_EQ(feed.ready(), 2U);
  EXPECT_EQ(feed[1], domain(2));
  EXPECT_NO_THROW(feed.check());
}

TEST(DomainFeedTest, DomainsAreReadableAsTheyArriveAndTheTotalFollowsFinish) {
  DomainFeed feed;
  feed.expect(3);
  EXPECT_EQ(feed.total(), 3U);
  EXPECT_EQ(feed.ready(), 0U);
  feed.push(domain(7));
  EXPECT_EQ(feed.ready(), 1U);
  EXPECT_EQ(feed[0], domain(7));
  EXPECT_FALSE(feed.complete());
  feed.push(domain(9));
  feed.finish();  // one fewer than counted: the total is what came
  EXPECT_TRUE(feed.complete());
  EXPECT_EQ(feed.total(), 2U);
  EXPECT_EQ(feed[1], domain(9));
}

TEST(DomainFeedTest, MoreDomainsThanCountedOrAfterFinishAreRefused) {
  DomainFeed feed;
  feed.expect(1);
  feed.push(domain(1));
  EXPECT_THROW(feed.push(domain(2)), Error);
  EXPECT_THROW(feed.expect(5), Error);
  DomainFeed finished;
  finished.expect(2);
  finished.finish();
  EXPECT_THROW(finished.push(domain(1)), Error);
}

TEST(DomainFeedTest, TheLoadersErrorReachesTheRound) {
  DomainFeed feed;
  feed.expect(2);
  feed.push(domain(1));
  feed.fail(std::make_exception_ptr(std::runtime_error("connection lost")));
  EXPECT_TRUE(feed.complete());
  EXPECT_EQ(feed.total(), 1U);  // what had arrived
  EXPECT_THROW(feed.check(), std::runtime_error);
  EXPECT_THROW(static_cast<void>(feed.wait_for_total()), std::runtime_error);
}

TEST(DomainFeedTest, AReaderOnAnotherThreadSeesEveryDomainInOrder) {
  constexpr std::size_t kCount = 20000;
  DomainFeed feed;
  std::thread loader([&] {
    feed.expect(kCount);
    for (std::size_t i = 0; i < kCount; ++i) {
      feed.push(domain(static_cast<std::int64_t>(i)));
    }
    feed.finish();
  });
  ASSERT_EQ(feed.wait_for_total(), kCount);
  std::size_t next = 0;
  while (!(feed.complete() && next == feed.total())) {
    const std::size_t ready = feed.ready();
    for (; next < ready; ++next) {
      ASSERT_EQ(feed[next], domain(static_cast<std::int64_t>(next)));
    }
    feed.wait_beyond(next, milliseconds(100));
  }
  loader.join();
  EXPECT_EQ(next, kCount);
}

}  // namespace
}  // namespace fluxwatch::scheduler
