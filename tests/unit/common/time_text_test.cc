// Timestamps as text (common/utc_time.h, common/time_text.h): the one formatter and the one
// parser of UTC times that config, scoring arguments and outputs share.
#include "fluxwatch/common/time_text.h"

#include <gtest/gtest.h>

#include <chrono>

#include "fluxwatch/common/utc_time.h"

namespace fluxwatch {
namespace {

using namespace std::chrono;

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return system_clock::time_point(sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) +
                                  seconds(s));
}

TEST(TimeText, FormatsIso8601UtcTruncatingTowardsThePast) {
  EXPECT_EQ(format_iso8601_utc(at(2026, 11, 22, 10, 0, 7)), "2026-11-22T10:00:07Z");
  EXPECT_EQ(format_iso8601_utc(at(2026, 11, 22, 10, 0, 7) + milliseconds(999)),
            "2026-11-22T10:00:07Z");
  EXPECT_EQ(format_iso8601_utc(at(1969, 12, 31, 23, 59, 59) + milliseconds(500)),
            "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_timestamp_utc(at(2026, 11, 22, 10, 0, 7) + microseconds(123456)),
            "2026-11-22 10:00:07.123456+00");
}

TEST(TimeText, ParsesWhatItFormats) {
  const auto when = at(2024, 2, 29, 23, 59, 58);
  EXPECT_EQ(parse_utc_time(format_iso8601_utc(when), UtcTimeForm::WithZone), when);
  EXPECT_EQ(parse_utc_time("2024-02-29 23:59:58+00:00", UtcTimeForm::WithZone), when);
  EXPECT_EQ(parse_utc_time("2024-02-29T23:59:58+00", UtcTimeForm::WithZone), when);
  EXPECT_EQ(parse_utc_time("2024-02-29 23:59:58", UtcTimeForm::ZoneOptional), when);
  EXPECT_EQ(parse_utc_time("2024-02-29", UtcTimeForm::ZoneOptional), at(2024, 2, 29, 0, 0, 0));
}

TEST(TimeText, RejectsDatesThatDoNotExist) {
  for (const auto form : {UtcTimeForm::WithZone, UtcTimeForm::ZoneOptional}) {
    EXPECT_FALSE(parse_utc_time("2026-02-31T10:00:00Z", form));  // the sscanf parser took it
    EXPECT_FALSE(parse_utc_time("2025-02-29T10:00:00Z", form));  // not a leap year
    EXPECT_FALSE(parse_utc_time("2026-04-31T10:00:00Z", form));
    EXPECT_FALSE(parse_utc_time("2026-13-01T10:00:00Z", form));
    EXPECT_FALSE(parse_utc_time("2026-00-10T10:00:00Z", form));
    EXPECT_FALSE(parse_utc_time("2026-11-22T24:00:00Z", form));
    EXPECT_FALSE(parse_utc_time("2026-11-22T10:60:00Z", form));
    EXPECT_FALSE(parse_utc_time("2026-11-22T10:00:61Z", form));
    EXPECT_FALSE(parse_utc_time("26-11-22T10:00:00Z", form));
    EXPECT_FALSE(parse_utc_time("2026-11-22T10:00:00Zjunk", form));
    EXPECT_FALSE(parse_utc_time("", form));
  }
  EXPECT_TRUE(parse_utc_time("2016-12-31T23:59:60Z", UtcTimeForm::WithZone));  // leap second
}

TEST(TimeText, FormsDifferInTheZoneAndTheBareDate) {
  EXPECT_FALSE(parse_utc_time("2026-11-22T10:00:00", UtcTimeForm::WithZone));
  EXPECT_FALSE(parse_utc_time("2026-11-22", UtcTimeForm::WithZone));
  EXPECT_FALSE(parse_utc_time("2026-11-22T10:00:00+00:00", UtcTimeForm::ZoneOptional));
  EXPECT_FALSE(parse_utc_time("2026-11-22T10:00:00+01:00", UtcTimeForm::WithZone));
}

}  // namespace
}  // namespace fluxwatch
