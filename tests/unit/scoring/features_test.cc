// The features on hand-made histories: every expected value below is worked out by hand in
// the comment next to it.
#include "fluxwatch/scoring/features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace fluxwatch::scoring {
namespace {

using std::chrono::seconds;

constexpr double kR = 6371.0088;

/// Builds probes one by one, 60 s apart, with increasing ids.
class History {
 public:
  StoredProbe& probe(const std::string& qtype, const std::string& outcome = "NOERROR",
                     const std::string& qname = "x.test") {
    StoredProbe o;
    o.probe_id = ++id_;
    o.qname = qname;
    o.qtype = parse_rrtype(qtype).value();
    o.sent_at = std::chrono::system_clock::time_point(seconds(1700000000 + 60 * id_));
    o.outcome = parse_outcome(outcome).value();
    probes_.push_back(o);
    return probes_.back();
  }
  History& a(std::initializer_list<std::string> addresses, std::int64_t ttl = 30) {
    return answer("A", addresses, ttl);
  }
  History& aaaa(std::initializer_list<std::string> addresses, std::int64_t ttl = 30) {
    return answer("AAAA", addresses, ttl);
  }
  History& ns(std::initializer_list<std::string> names, std::int64_t ttl = 300) {
    auto& o = probe("NS");
    for (const auto& name : names) {
      o.records.push_back(Record::from_columns("answer", "x.test", "NS", ttl, "", name).value());
    }
    return *this;
  }
  History& timeout(const std::string& qtype = "A") {
    probe(qtype, "TIMEOUT");
    return *this;
  }
  std::vector<StoredProbe>& probes() { return probes_; }

 private:
  History& answer(const std::string& type, std::initializer_list<std::string> addresses,
                  std::int64_t ttl) {
    auto& o = probe(type);
    if (addresses.size() == 0) {
      o.outcome = Outcome::NoData;
    }
    for (const auto& address : addresses) {
      o.records.push_back(Record::from_columns("answer", "x.test", type, ttl, address, "").value());
    }
    return *this;
  }
  std::int64_t id_ = 0;
  std::vector<StoredProbe> probes_;
};

GeoTable geo_of(std::initializer_list<std::pair<std::string, AddressInfo>> entries) {
  GeoTable geo;
  for (const auto& [address, info] : entries) {
    geo.emplace(IpAddress::parse(address).value(), info);
  }
  return geo;
}

TEST(Features, EmptyHistoryHasZerosAndNoOptionalValues) {
  const auto f = compute_features({}, {}, {});
  EXPECT_EQ(f, Features{});
  EXPECT_EQ(f.addresses(), 0);
  EXPECT_FALSE(f.min_ttl.has_value());
  EXPECT_FALSE(f.set_change_ratio.has_value());
  EXPECT_FALSE(f.soa_serial_changes.has_value());
}

TEST(Features, TimeoutsAndEmptyAnswersCountAsProbesButNotLookups) {
  History h;
  h.timeout("A").timeout("AAAA").a({}).aaaa({});
  h.probe("NS", "SERVFAIL");
  const auto f = compute_features(h.probes(), {}, {});
  EXPECT_EQ(f.probes, 5);
  EXPECT_EQ(f.address_probes, 4);
  EXPECT_EQ(f.answered_lookups, 0);
  EXPECT_EQ(f.max_answer_size, 0);
  EXPECT_EQ(f.addresses(), 0);
  EXPECT_FALSE(f.new_address_ratio.has_value());
  EXPECT_FALSE(f.min_ttl.has_value());
}

TEST(Features, DistinctAddressesAndLookupsPerFamily) {
  History h;
  h.a({"10.0.0.1", "10.0.0.2"}).timeout().a({"10.0.0.2", "10.0.0.3", "10.0.0.3"});
  h.aaaa({"2001:db8::1"});
  const auto f = compute_features(h.probes(), {}, {});
  EXPECT_EQ(f.ipv4_addresses, 3);
  EXPECT_EQ(f.ipv6_addresses, 1);
  EXPECT_EQ(f.addresses(), 4);
  EXPECT_EQ(f.answered_lookups, 2);  // two answered A lookups, one AAAA: the max
  EXPECT_EQ(f.max_answer_size, 2);   // the duplicate 10.0.0.3 counts once
  EXPECT_EQ(f.probes, 4);
}

TEST(Features, Ipv6OnlyDomain) {
  History h;
  h.a({}).aaaa({"2001:db8:1::1", "2001:db8:2::1"}).a({}).aaaa({"2001:db9::1"});
  const auto geo = geo_of({{"2001:db8:1::1", {64500, "DE", 50.0, 8.0}},
                           {"2001:db8:2::1", {64501, "FR", 48.0, 2.0}},
                           {"2001:db9::1", {64502, "US", 40.0, -74.0}}});
  const auto f = compute_features(h.probes(), {}, geo);
  EXPECT_EQ(f.ipv4_addresses, 0);
  EXPECT_EQ(f.ipv6_addresses, 3);
  EXPECT_EQ(f.asns, 3);
  EXPECT_EQ(f.ipv4_asns, 0);  // Holz counts ASNs of A records only
  EXPECT_EQ(f.prefixes, 2);   // 2001:db8::/32 and 2001:db9::/32
  EXPECT_EQ(f.answered_lookups, 2);
  ASSERT_TRUE(f.set_change_ratio.has_value());
  EXPECT_DOUBLE_EQ(*f.set_change_ratio, 1.0);
}

TEST(Features, ChangeRatiosCompareEachLookupWithThePreviousOfItsType) {
  History h;
  // A: {1,2} -> {2,3}: 1 of 2 new, changed; {2,3} -> {3,2}: 0 new, same set.
  // AAAA: {a} -> {b}: 1 of 1 new, changed. Pairs: 3; new = (0.5 + 0 + 1) / 3 = 0.5;
  // changed = 2 / 3. The timeout in between does not break the A sequence.
  h.a({"10.0.0.1", "10.0.0.2"}).aaaa({"2001:db8::a"}).a({"10.0.0.2", "10.0.0.3"});
  h.timeout().aaaa({"2001:db8::b"}).a({"10.0.0.3", "10.0.0.2"});
  const auto f = compute_features(h.probes(), {}, {});
  ASSERT_TRUE(f.new_address_ratio && f.set_change_ratio);
  EXPECT_DOUBLE_EQ(*f.new_address_ratio, 0.5);
  EXPECT_DOUBLE_EQ(*f.set_change_ratio, 2.0 / 3.0);
}

TEST(Features, ProbeOrderIsByTimeNotByInputOrder) {
  History h;
  h.a({"10.0.0.1"}).a({"10.0.0.1"}).a({"10.0.0.2"});
  auto probes = h.probes();
  std::reverse(probes.begin(), probes.end());
  const auto f = compute_features(probes, {}, {});
  // In time order: {1} -> {1} same, {1} -> {2} changed: 0.5 (reversed input gives the same).
  EXPECT_DOUBLE_EQ(f.set_change_ratio.value_or(-1), 0.5);
  EXPECT_DOUBLE_EQ(f.new_address_ratio.value_or(-1), 0.5);
}

TEST(Features, OnlyAnswerRecordsOfTheAskedTypeAreAddresses) {
  History h;
  auto& o = h.probe("A");
  o.records.push_back(
      Record::from_columns("answer", "www.x.test", "CNAME", 3600, "", "cdn.test").value());
  o.records.push_back(Record::from_columns("answer", "cdn.test", "A", 20, "10.1.0.1", "").value());
  o.records.push_back(
      Record::from_columns("additional", "ns1.x.test", "A", 20, "10.9.0.1", "").value());
  o.records.push_back(Record::from_columns("answer", "cdn.test", "AAAA", 20, "2001:db8::1", "")
                          .value());  // wrong type
  const auto f = compute_features(h.probes(), {}, {});
  EXPECT_EQ(f.ipv4_addresses, 1);
  EXPECT_EQ(f.ipv6_addresses, 0);
  EXPECT_EQ(f.min_ttl, 20);
}

TEST(Features, TtlMinimumAndLowerMedian) {
  History h;
  h.a({"10.0.0.1"}, 300).a({"10.0.0.1"}, 10).a({"10.0.0.2"}, 60).aaaa({"2001:db8::1"}, 30);
  const auto f = compute_features(h.probes(), {}, {});
  EXPECT_EQ(f.min_ttl, 10);
  EXPECT_EQ(f.median_ttl, 30);  // sorted 10, 30, 60, 300: the lower of the middle two
  h.ns({"ns1.x.test", "ns2.x.test"}, 3600).ns({"ns1.x.test"}, 600);
  const auto g = compute_features(h.probes(), {}, {});
  EXPECT_EQ(g.ns_min_ttl, 600);
  EXPECT_EQ(g.ns_median_ttl, 3600);  // 600, 3600, 3600
}

TEST(Features, CountriesPrefixesAndEntropy) {
  History h;
  h.a({"10.1.0.1", "10.1.200.2", "10.2.0.1", "10.3.0.1", "10.4.0.1"});
  // Countries of the distinct addresses: DE, DE, US, FR, unknown.
  // p = 1/2, 1/4, 1/4: H = 0.5 * 1 + 0.25 * 2 + 0.25 * 2 = 1.5 bits.
  const auto geo = geo_of({{"10.1.0.1", {1, "DE", {}, {}}},
                           {"10.1.200.2", {1, "DE", {}, {}}},
                           {"10.2.0.1", {2, "US", {}, {}}},
                           {"10.3.0.1", {3, "FR", {}, {}}},
                           {"10.4.0.1", {}}});
  const auto f = compute_features(h.probes(), {}, geo);
  EXPECT_EQ(f.countries, 3);
  EXPECT_EQ(f.asns, 3);
  EXPECT_EQ(f.ipv4_asns, 3);
  EXPECT_EQ(f.prefixes, 4);  // 10.1/16 twice, 10.2, 10.3, 10.4
  EXPECT_DOUBLE_EQ(f.country_entropy.value_or(-1), 1.5);
  EXPECT_FALSE(f.geo_dispersion_km.has_value());  // no coordinates
}

TEST(Features, EntropyOfOneCountryIsZero) {
  EXPECT_EQ(entropy_bits({7}), 0.0);
  EXPECT_FALSE(std::signbit(entropy_bits({7})));
  EXPECT_DOUBLE_EQ(entropy_bits({1, 1, 1, 1}), 2.0);
  EXPECT_EQ(entropy_bits({}), 0.0);
}

TEST(Features, GeographicDispersionFromTheCentroid) {
  // Two points on the equator at 0 and 90 degrees east: the centroid is at 45 degrees, each
  // point a quarter of pi away: 6371.0088 * pi / 4 = 5003.77 km.
  EXPECT_NEAR(mean_distance_from_centroid_km({{0, 0}, {0, 90}}).value(), kR * std::numbers::pi / 4,
              1e-6);
  EXPECT_NEAR(mean_distance_from_centroid_km({{52.37, 4.89}}).value(), 0.0, 1e-6);
  EXPECT_FALSE(mean_distance_from_centroid_km({}).has_value());
  // Antipodes on the equator: half the circumference.
  EXPECT_NEAR(great_circle_km({0, 0}, {0, 180}), kR * std::numbers::pi, 1e-6);
  // Through the features: same two points as addresses.
  History h;
  h.a({"10.0.0.1", "10.0.0.2"});
  const auto geo = geo_of({{"10.0.0.1", {1, "GH", 0.0, 0.0}}, {"10.0.0.2", {2, "ID", 0.0, 90.0}}});
  EXPECT_NEAR(compute_features(h.probes(), {}, geo).geo_dispersion_km.value(),
              kR * std::numbers::pi / 4, 1e-6);
}

TEST(Features, AddressPrefixes) {
  EXPECT_EQ(address_prefix(*IpAddress::parse("127.64.13.5")).to_string() + "/16", "127.64.0.0/16");
  EXPECT_EQ(address_prefix(*IpAddress::parse("2001:db8:1:2::5")).to_string() + "/32",
            "2001:db8::/32");
  EXPECT_EQ(IpAddress::parse("not-an-address"), std::nullopt);
}

TEST(Features, NsNamesChangesAndTheAddressesBehindThem) {
  History h;
  // NS sets {ns1,ns2} -> {ns2,ns3} (changed) -> {ns3,ns2} (same): ratio 0.5.
  h.ns({"ns1.x.test", "ns2.x.test"}).ns({"ns2.x.test", "ns3.x.test"});
  h.ns({"ns3.x.test", "ns2.x.test"});
  // Glue in the domain's own answer.
  h.probes().back().records.push_back(
      Record::from_columns("additional", "ns3.x.test", "A", 30, "10.0.3.1", "").value());
  // Probes of the NS host names (e.g. on the watchlist too), and an unrelated name.
  History other;
  other.probe("A", "NOERROR", "ns1.x.test")
      .records.push_back(
          Record::from_columns("answer", "ns1.x.test", "A", 30, "10.0.1.1", "").value());
  other.probe("A", "NOERROR", "ns1.x.test")
      .records.push_back(
          Record::from_columns("answer", "ns1.x.test", "A", 30, "10.0.1.2", "").value());
  other.probe("AAAA", "NOERROR", "ns2.x.test")
      .records.push_back(
          Record::from_columns("answer", "ns2.x.test", "AAAA", 30, "2001:db8::2", "").value());
  other.probe("A", "NOERROR", "www.other.test")
      .records.push_back(
          Record::from_columns("answer", "www.other.test", "A", 30, "10.0.9.9", "").value());
  // An authority-section A record of an NS name is not an address of it.
  other.probes().back().records.push_back(
      Record::from_columns("authority", "ns1.x.test", "A", 30, "10.0.1.3", "").value());
  const auto geo = geo_of({{"10.0.1.1", {100, {}, {}, {}}},
                           {"10.0.1.2", {100, {}, {}, {}}},
                           {"2001:db8::2", {200, {}, {}, {}}},
                           {"10.0.3.1", {}}});
  const auto f = compute_features(h.probes(), other.probes(), geo);
  EXPECT_EQ(f.ns_names, 3);
  EXPECT_DOUBLE_EQ(f.ns_change_ratio.value_or(-1), 0.5);
  EXPECT_EQ(f.ns_addresses, 4);  // 10.0.1.1, 10.0.1.2, 2001:db8::2, glue 10.0.3.1
  EXPECT_EQ(f.ns_asns, 2);
  EXPECT_EQ(f.addresses(), 0);  // none of that is an address of the domain itself
}

TEST(Features, SoaSerialChanges) {
  History h;
  const auto soa = [](const std::string& serial) {
    return Record::from_columns("authority", "x.test", "SOA", 300, "",
                                "ns.x.test admin.x.test " + serial + " 3600 600 86400 300")
        .value();
  };
  for (const auto* serial : {"1", "1", "2", "bogus", "2", "3"}) {
    h.probe("AAAA", "NODATA").records.push_back(soa(serial));
  }
  h.timeout();  // no SOA: does not count
  const auto f = compute_features(h.probes(), {}, {});
  EXPECT_EQ(f.soa_serial_changes, 2);  // 1 1 2 2 3 (the bogus one is skipped)
  History none;
  none.a({"10.0.0.1"});
  EXPECT_FALSE(compute_features(none.probes(), {}, {}).soa_serial_changes.has_value());
}

}  // namespace
}  // namespace fluxwatch::scoring
