// The figures of a domain (web/src/charts.cc): timeline rows and marks, growth curves,
// country counts, NS and SOA change detection.
#include "fluxwatch/web/charts.h"

#include <gtest/gtest.h>

namespace fluxwatch::web {
namespace {

TimePoint at(int seconds) { return TimePoint(std::chrono::seconds(1'790'000'000 + seconds)); }

Sighting seen(std::int64_t probe, int seconds, std::string address, std::optional<std::int64_t> asn,
              std::string country, std::int64_t ttl = 60) {
  return {probe, at(seconds), "A", ttl, std::move(address), asn, "", std::move(country)};
}

std::vector<Sighting> flux_history() {
  return {seen(1, 0, "10.0.0.1", 200, "DE"),   seen(1, 0, "10.0.0.2", 100, "US", 30),
          seen(2, 60, "10.0.0.2", 100, "US"),  seen(2, 60, "10.0.0.3", std::nullopt, ""),
          seen(3, 120, "10.0.0.4", 100, "FR"), seen(3, 120, "10.0.0.1", 200, "DE")};
}

TEST(Timeline, OneRowPerAddressGroupedByAsnUnknownLast) {
  const auto timeline = make_timeline(flux_history());
  ASSERT_EQ(timeline.rows.size(), 4U);
  EXPECT_EQ(timeline.rows[0].address, "10.0.0.2");
  EXPECT_EQ(timeline.rows[1].address, "10.0.0.4");
  EXPECT_EQ(timeline.rows[2].address, "10.0.0.1");
  EXPECT_EQ(timeline.rows[3].address, "10.0.0.3");
  EXPECT_FALSE(timeline.rows[3].asn);
  ASSERT_EQ(timeline.marks.size(), 6U);  // one mark per sighting
  EXPECT_EQ(timeline.marks[0].row, 2U);
  EXPECT_EQ(timeline.marks[0].when, at(0));
  EXPECT_EQ(timeline.marks[5].row, 2U);
}

TEST(Growth, CumulativeDistinctAddressesAndAsnsPerLookup) {
  const auto growth = make_growth(flux_history());
  ASSERT_EQ(growth.size(), 3U);
  EXPECT_EQ(growth[0].lookup, 1U);
  EXPECT_EQ(growth[0].addresses, 2U);
  EXPECT_EQ(growth[0].asns, 2U);
  EXPECT_EQ(growth[0].min_ttl, 30);
  EXPECT_EQ(growth[1].addresses, 3U);
  EXPECT_EQ(growth[1].asns, 2U);  // unknown ASN is not counted
  EXPECT_EQ(growth[2].addresses, 4U);
  EXPECT_EQ(growth[2].asns, 2U);
  EXPECT_EQ(growth[2].when, at(120));
  EXPECT_TRUE(make_growth({}).empty());
}

TEST(Countries, DistinctAddressesPerCountryMostFirst) {
  const auto counts = count_countries(flux_history());
  ASSERT_EQ(counts.size(), 4U);
  EXPECT_EQ(counts[0].country, "??");  // ties keep code order: "??" < "DE" < "FR" < "US"
  EXPECT_EQ(counts[0].addresses, 1U);
  std::size_t total = 0;
  for (const auto& c : counts) {
    total += c.addresses;
  }
  EXPECT_EQ(total, 4U);
}

TEST(NsChanges, KeepsFirstAndEveryDifferentSetPerZone) {
  const std::vector<NsSet> history{{at(0), "z.test", {"a", "b"}, 60},
                                   {at(1), "z.test", {"a", "b"}, 60},
                                   {at(2), "z.test", {"a", "c"}, 60},
                                   {at(3), "y.test", {"a", "c"}, 60},
                                   {at(4), "z.test", {"a", "c"}, 60}};
  const auto changes = ns_changes(history);
  ASSERT_EQ(changes.size(), 3U);
  EXPECT_EQ(changes[1].sent_at, at(2));
  EXPECT_EQ(changes[2].zone, "y.test");
}

TEST(SoaChanges, PerZoneAndServer) {
  const std::vector<SoaSerial> history{{at(0), "z", "ns1", 1},
                                       {at(0), "z", "ns2", 5},
                                       {at(1), "z", "ns1", 1},
                                       {at(1), "z", "ns2", 6},
                                       {at(2), "z", "ns1", std::nullopt}};
  const auto changes = soa_changes(history);
  ASSERT_EQ(changes.size(), 4U);
  EXPECT_EQ(changes[2].serial, 6);
  EXPECT_FALSE(changes[3].serial);
}

TEST(CountryColour, StableAndGreyWhenUnknown) {
  EXPECT_EQ(country_colour("DE"), country_colour("DE"));
  EXPECT_EQ(country_colour(""), "#999999");
  EXPECT_EQ(country_colour("??"), "#999999");
  EXPECT_EQ(country_colour("US").size(), 7U);
}

TEST(Times, IsoAndEpochMilliseconds) {
  EXPECT_EQ(iso_time(TimePoint(std::chrono::seconds(0))), "1970-01-01T00:00:00Z");
  EXPECT_EQ(epoch_ms(TimePoint(std::chrono::seconds(2))), 2000);
}

}  // namespace
}  // namespace fluxwatch::web
