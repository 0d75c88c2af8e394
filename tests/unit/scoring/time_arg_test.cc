#include "fluxwatch/scoring/time_arg.h"

#include <gtest/gtest.h>

namespace fluxwatch::scoring {
namespace {

using namespace std::chrono;

const system_clock::time_point kNow{seconds(1700000000)};  // 2023-11-14T22:13:20Z

TEST(TimeArg, AbsoluteTimesAreUtc) {
  EXPECT_EQ(parse_time_arg("2023-11-14T22:13:20Z", kNow), kNow);
  EXPECT_EQ(parse_time_arg("2023-11-14 22:13:20", kNow), kNow);
  EXPECT_EQ(parse_time_arg("2023-11-14", kNow), kNow - hours(22) - minutes(13) - seconds(20));
}

TEST(TimeArg, DurationsCountBackFromNow) {
  EXPECT_EQ(parse_time_arg("90s", kNow), kNow - seconds(90));
  EXPECT_EQ(parse_time_arg("30m", kNow), kNow - minutes(30));
  EXPECT_EQ(parse_time_arg("24h", kNow), kNow - hours(24));
  EXPECT_EQ(parse_time_arg("7d", kNow), kNow - days(7));
}

TEST(TimeArg, RejectsEverythingElse) {
  for (const char* bad : {"", "h", "12", "12x", "-3d", "2023-13-01", "2023-02-30",
                          "2023-11-14T25:00:00Z", "2023-11-14T22:13", "yesterday"}) {
    EXPECT_EQ(parse_time_arg(bad, kNow), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace fluxwatch::scoring
