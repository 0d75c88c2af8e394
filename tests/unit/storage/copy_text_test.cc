#include "copy_text.h"

#include <gtest/gtest.h>

#include <chrono>

#include "migrations.h"

namespace fluxwatch::storage::detail {
namespace {

using namespace std::chrono;

TEST(StorageCopyText, TimestampIsUtcWithMicroseconds) {
  const sys_days day = year{2026} / November / 22;
  const system_clock::time_point tp = day + 10h + 0min + 0s + 123456789ns;
  EXPECT_EQ(format_timestamp_utc(tp), "2026-11-22 10:00:00.123456+00");
  EXPECT_EQ(format_timestamp_utc(system_clock::time_point{}), "1970-01-01 00:00:00.000000+00");
}

TEST(StorageCopyText, TimestampBeforeEpochFloors) {
  // 1 ns before the epoch is still 1969, and its microseconds round down, not up.
  EXPECT_EQ(format_timestamp_utc(system_clock::time_point{} - 1ns),
            "1969-12-31 23:59:59.999999+00");
}

TEST(StorageCopyText, UnixMicrosRoundTrip) {
  const system_clock::time_point tp = sys_days{year{2026} / March / 1} + 1h + 2min + 3s + 4us;
  EXPECT_EQ(from_unix_micros(duration_cast<microseconds>(tp.time_since_epoch()).count()), tp);
}

TEST(StorageCopyText, IpAddresses) {
  EXPECT_TRUE(is_ip_address("192.0.2.1"));
  EXPECT_TRUE(is_ip_address("2001:db8::1"));
  EXPECT_TRUE(is_ip_address("::ffff:192.0.2.1"));
  EXPECT_FALSE(is_ip_address(""));
  EXPECT_FALSE(is_ip_address("192.0.2.256"));
  EXPECT_FALSE(is_ip_address("192.0.2.0/24"));
  EXPECT_FALSE(is_ip_address("example.com"));
  EXPECT_FALSE(is_ip_address(std::string(100, '1')));
}

TEST(StorageCopyText, NullIfEmpty) {
  EXPECT_FALSE(null_if_empty("").has_value());
  EXPECT_EQ(null_if_empty("x"), "x");
}

TEST(StorageEmbeddedMigrations, EmbeddedInVersionOrder) {
  const auto migrations = embedded_migrations();
  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations.front().version, 1);
  EXPECT_EQ(migrations.front().name, "initial");
  for (std::size_t i = 1; i < migrations.size(); ++i) {
    EXPECT_LT(migrations[i - 1].version, migrations[i].version);
  }
  EXPECT_NE(migrations.front().sql.find("CREATE TABLE probes"), std::string_view::npos);
}

}  // namespace
}  // namespace fluxwatch::storage::detail
