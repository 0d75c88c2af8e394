// The crawler's stall window (crawler/src/stall_window.h): pure, driven with made-up times.
#include "stall_window.h"

#include <gtest/gtest.h>

#include <chrono>
#include <utility>
#include <vector>

namespace fluxwatch::crawler::detail {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = SteadyClock;

const Clock::time_point kT0{};  // an arbitrary origin

TEST(StallWindow, ThresholdIsStallAfterUntilTheFirstAnswer) {
  const StallWindow window(milliseconds(500));
  EXPECT_TRUE(window.enabled());
  EXPECT_EQ(window.threshold(), milliseconds(500));
  EXPECT_FALSE(window.next_stall());
}

TEST(StallWindow, ThresholdFollowsTheSmoothedLatencyWithinItsBounds) {
  StallWindow window(milliseconds(500));
  // First sample: smoothed = 40 ms, deviation = 20 ms: 40 + 4 x 20 = 120 ms.
  window.learn(milliseconds(40));
  EXPECT_EQ(window.threshold(), milliseconds(120));
  // Fast answers: never below the 100 ms floor (queueing jitter is not loss).
  StallWindow fast(milliseconds(500));
  fast.learn(microseconds(300));
  EXPECT_EQ(fast.threshold(), StallWindow::kMinStall);
  // Slow answers: never above stall_after.
  StallWindow slow(milliseconds(500));
  slow.learn(milliseconds(400));
  EXPECT_EQ(slow.threshold(), milliseconds(500));
  // RFC 6298 2.3: deviation = 3/4 x 20 + 1/4 x |40 - 80| = 25; smoothed = 7/8 x 40 + 1/8 x 80
  // = 45; threshold = 45 + 100 = 145 ms.
  window.learn(milliseconds(80));
  EXPECT_EQ(window.threshold(), milliseconds(145));
}

TEST(StallWindow, FloorIsStallAfterWhenThatIsSmaller) {
  StallWindow window(milliseconds(50));
  window.learn(microseconds(100));
  EXPECT_EQ(window.threshold(), milliseconds(50));
}

TEST(StallWindow, ExpiresStartsOldestFirstOnceTheyAreThresholdOld) {
  StallWindow window(milliseconds(200));
  window.started(kT0, 3, 1);
  window.started(kT0 + milliseconds(50), 7, 2);
  window.started(kT0 + milliseconds(120), 3, 3);
  EXPECT_EQ(window.next_stall(), kT0 + milliseconds(200));

  std::vector<std::pair<std::size_t, std::uint64_t>> stalled;
  const auto collect = [&](std::size_t slot, std::uint64_t serial) {
    stalled.emplace_back(slot, serial);
  };
  window.expire(kT0 + milliseconds(199), collect);
  EXPECT_TRUE(stalled.empty());
  window.expire(kT0 + milliseconds(250), collect);  // exactly 200 ms for the second: stalled
  EXPECT_EQ(stalled, (std::vector<std::pair<std::size_t, std::uint64_t>>{{3, 1}, {7, 2}}));
  EXPECT_EQ(window.waiting(), 1U);
  EXPECT_EQ(window.next_stall(), kT0 + milliseconds(320));
  window.clear();
  EXPECT_EQ(window.waiting(), 0U);
  EXPECT_FALSE(window.next_stall());
}

TEST(StallWindow, ALowerThresholdExpiresSooner) {
  StallWindow window(milliseconds(1000));
  window.started(kT0, 0, 1);
  std::size_t stalled = 0;
  window.expire(kT0 + milliseconds(300), [&](std::size_t, std::uint64_t) { ++stalled; });
  EXPECT_EQ(stalled, 0U);
  window.learn(milliseconds(10));  // threshold now max(10 + 20, 100) = 100 ms
  window.expire(kT0 + milliseconds(300), [&](std::size_t, std::uint64_t) { ++stalled; });
  EXPECT_EQ(stalled, 1U);
}

TEST(StallWindow, ZeroStallAfterKeepsNothing) {
  StallWindow window(microseconds(0));
  EXPECT_FALSE(window.enabled());
  window.started(kT0, 1, 1);
  EXPECT_EQ(window.waiting(), 0U);
  EXPECT_FALSE(window.next_stall());
}

}  // namespace
}  // namespace fluxwatch::crawler::detail
