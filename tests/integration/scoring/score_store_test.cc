// ScoreStore against a real PostgreSQL: hand-made histories written through the real COPY
// writer (storage::Database::store), the streamed features (ScoreStore) compared with the C++
// reference and with values worked out by hand, windows and campaigns, storing and reading
// scores, the read-only role, and migrations of several databases at once.
#include "fluxwatch/scoring/score_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <pqxx/pqxx>

#include "binary_copy.h"
#include "feature_compare.h"
#include "fluxwatch/scoring/classifier.h"
#include "fluxwatch/storage/database.h"
#include "support/test_env.h"

namespace fluxwatch {
namespace {

using namespace std::chrono;
using scoring::Features;
using scoring::ScoreStore;
using scoring::Window;
using ::testing::HasSubstr;

const system_clock::time_point kT0{seconds(1700000000)};  // in the past: windows end now

ResourceRecord rr(Section section, const std::string& owner, RrType type, std::uint32_t ttl,
                  const std::string& data) {
  return {section, owner, static_cast<std::uint16_t>(type), ttl, data};
}

class ScoreStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.migrate();
    db_.import_watchlist({{"x.test", "t", {}},
                          {"v6.test", "t", {}},
                          {"down.test", "t", {}},
                          {"never.test", "t", {}}});
    for (const auto& d : db_.watched_domains()) {
      ids_[d.domain] = d.id;
    }
  }

  /// A probe of `name` (a watched domain, or any other name when `domain` is empty) at
  /// kT0 + minute.
  ProbeResult probe(const std::string& domain, const std::string& name, RrType type, int minute,
                    Outcome outcome, std::vector<ResourceRecord> records = {}) {
    ProbeResult p;
    p.domain_id = domain.empty() ? 0 : ids_.at(domain);
    p.name = name;
    p.qtype = type;
    p.resolver = "127.0.0.1:53";
    p.sent_at = kT0 + minutes(minute);
    p.latency = microseconds(500);
    p.outcome = outcome;
    p.rcode = outcome == Outcome::Timeout ? -1 : 0;
    p.records = std::move(records);
    return p;
  }

  ProbeResult a(const std::string& domain, int minute, std::vector<std::string> addresses,
                std::uint32_t ttl = 30) {
    std::vector<ResourceRecord> records;
    for (const auto& address : addresses) {
      records.push_back(rr(Section::Answer, domain, RrType::A, ttl, address));
    }
    return probe(domain, domain, RrType::A, minute, Outcome::NoError, std::move(records));
  }

  storage::AddressGeo geo(const std::string& address, std::uint32_t asn, const std::string& country,
                          double lat, double lon) {
    storage::AddressGeo g;
    g.address = address;
    g.geo.asn = asn;
    g.geo.as_org = fmt::format("AS{} org", asn);
    g.geo.country_iso = country;
    g.geo.latitude = lat;
    g.geo.longitude = lon;
    return g;
  }

  /// The hand-made histories of x.test, v6.test and down.test (see the comments).
  void store_histories(const std::string& campaign = "") {
    storage::ProbeBatch batch;
    batch.geo_build = "GeoLite2-ASN@1 GeoLite2-City@1";
    auto& r = batch.results;
    // x.test, A: {10.1.0.1, 10.1.0.2} -> timeout -> {10.1.0.3, 10.2.0.2} -> the same again
    // through a CNAME chain; TTLs 30, 60, 10.
    r.push_back(a("x.test", 0, {"10.1.0.1", "10.1.0.2"}, 30));
    r.push_back(probe("x.test", "x.test", RrType::A, 1, Outcome::Timeout));
    r.push_back(a("x.test", 2, {"10.1.0.3", "10.2.0.2"}, 60));
    r.push_back(probe("x.test", "x.test", RrType::A, 3, Outcome::NoError,
                      {rr(Section::Answer, "x.test", RrType::CNAME, 3600, "edge.x.test"),
                       rr(Section::Answer, "edge.x.test", RrType::A, 10, "10.2.0.2"),
                       rr(Section::Answer, "edge.x.test", RrType::A, 10, "10.1.0.3")}));
    // x.test, AAAA: NODATA with the zone's SOA, serial 7 then 8.
    for (const auto& [minute, serial] : {std::pair{0, 7}, std::pair{2, 7}, std::pair{3, 8}}) {
      r.push_back(
          probe("x.test", "x.test", RrType::AAAA, minute, Outcome::NoData,
                {rr(Section::Authority, "x.test", RrType::SOA, 300,
                    fmt::format("ns1.x.test hostmaster.x.test {} 3600 600 86400 300", serial))}));
    }
    // x.test, NS: {ns1, ns2} then {ns2, ns3} with glue for ns3.
    r.push_back(probe("x.test", "x.test", RrType::NS, 0, Outcome::NoError,
                      {rr(Section::Answer, "x.test", RrType::NS, 600, "ns1.x.test"),
                       rr(Section::Answer, "x.test", RrType::NS, 600, "ns2.x.test")}));
    r.push_back(probe("x.test", "x.test", RrType::NS, 2, Outcome::NoError,
                      {rr(Section::Answer, "x.test", RrType::NS, 300, "ns2.x.test"),
                       rr(Section::Answer, "x.test", RrType::NS, 300, "ns3.x.test"),
                       rr(Section::Additional, "ns3.x.test", RrType::A, 300, "10.9.3.1")}));
    // Probes of an NS host name that is not on the watchlist.
    r.push_back(probe("", "ns1.x.test", RrType::A, 1, Outcome::NoError,
                      {rr(Section::Answer, "ns1.x.test", RrType::A, 30, "10.9.1.1")}));
    r.push_back(probe("", "ns1.x.test", RrType::AAAA, 1, Outcome::NoError,
                      {rr(Section::Answer, "ns1.x.test", RrType::AAAA, 30, "2001:db8:9::1")}));
    // v6.test: IPv6 only (A is NODATA), rotating.
    for (int minute = 0; minute < 3; ++minute) {
      r.push_back(probe("v6.test", "v6.test", RrType::A, minute, Outcome::NoData));
      r.push_back(probe("v6.test", "v6.test", RrType::AAAA, minute, Outcome::NoError,
                        {rr(Section::Answer, "v6.test", RrType::AAAA, 30,
                            fmt::format("2001:db8:{}::1", minute + 1)),
                         rr(Section::Answer, "v6.test", RrType::AAAA, 30, "2001:db9::1")}));
    }
    // down.test: nothing but timeouts.
    for (int minute = 0; minute < 3; ++minute) {
      r.push_back(probe("down.test", "down.test", RrType::A, minute, Outcome::Timeout));
    }
    for (auto& result : r) {
      result.campaign = campaign;
    }
    batch.enrichment = {geo("10.1.0.1", 64501, "DE", 0.0, 0.0),
                        geo("10.1.0.2", 64501, "DE", 0.0, 0.0),
                        geo("10.1.0.3", 64502, "NL", 0.0, 90.0),
                        geo("10.2.0.2", 64503, "US", 0.0, 90.0),
                        geo("10.9.1.1", 64600, "FR", 48.0, 2.0),
                        geo("2001:db8:9::1", 64601, "FR", 48.0, 2.0),
                        geo("2001:db8:1::1", 64701, "JP", 35.0, 139.0),
                        geo("2001:db8:2::1", 64702, "JP", 35.0, 139.0),
                        geo("2001:db8:3::1", 64703, "KR", 37.0, 127.0),
                        geo("2001:db9::1", 64701, "JP", 35.0, 139.0)};
    db_.store(batch);
  }

  std::map<std::string, Features> sql_features(ScoreStore& store, const Window& window) {
    std::map<std::string, Features> out;
    for (auto& row : store.compute_features(window)) {
      out[row.domain] = row.features;
    }
    return out;
  }

  testing::ScratchDatabase scratch_;
  storage::Database db_{scratch_.dsn()};
  std::map<std::string, std::int64_t> ids_;
};

TEST_F(ScoreStoreTest, SqlFeaturesMatchTheReferenceAndTheHandWorkedValues) {
  store_histories();
  ScoreStore store(scratch_.dsn());
  const auto features = sql_features(store, {});
  ASSERT_EQ(features.size(), 4U);
  for (const auto& [domain, f] : features) {
    const auto history = store.history(domain, {});
    EXPECT_TRUE(testing::same_features(
        f, scoring::compute_features(history.domain_probes, history.other_probes, history.geo)))
        << domain;
  }
  const auto& x = features.at("x.test");
  EXPECT_EQ(x.probes, 9);
  EXPECT_EQ(x.address_probes, 7);
  EXPECT_EQ(x.answered_lookups, 3);
  EXPECT_EQ(x.ipv4_addresses, 4);  // 10.1.0.1, 10.1.0.2, 10.1.0.3, 10.2.0.2
  EXPECT_EQ(x.asns, 3);
  EXPECT_EQ(x.countries, 3);
  EXPECT_EQ(x.prefixes, 2);  // 10.1/16, 10.2/16
  // {1.1, 1.2} -> {1.3, 2.2}: 2/2 new, changed; -> {2.2, 1.3}: same. New 0.5, changed 0.5.
  EXPECT_DOUBLE_EQ(x.new_address_ratio.value_or(-1), 0.5);
  EXPECT_DOUBLE_EQ(x.set_change_ratio.value_or(-1), 0.5);
  EXPECT_EQ(x.min_ttl, 10);
  EXPECT_EQ(x.median_ttl, 30);  // 10 10 30 30 60 60 -> lower median 30
  EXPECT_EQ(x.ns_names, 3);
  EXPECT_EQ(x.ns_min_ttl, 300);
  EXPECT_DOUBLE_EQ(x.ns_change_ratio.value_or(-1), 1.0);
  EXPECT_EQ(x.ns_addresses, 3);  // ns1: 10.9.1.1 and 2001:db8:9::1 (probed); ns3: glue
  EXPECT_EQ(x.ns_asns, 2);       // the glue address is not enriched
  EXPECT_EQ(x.soa_serial_changes, 1);
  // DE, DE, NL, US: H = 0.5 * 1 + 2 * 0.25 * 2 = 1.5 bits.
  EXPECT_DOUBLE_EQ(x.country_entropy.value_or(-1), 1.5);
  // Two addresses at (0,0), two at (0,90): centroid (0,45), each pi/4 away.
  EXPECT_NEAR(x.geo_dispersion_km.value_or(-1), 6371.0088 * std::numbers::pi / 4, 1e-6);

  const auto& v6 = features.at("v6.test");
  EXPECT_EQ(v6.ipv4_addresses, 0);
  EXPECT_EQ(v6.ipv6_addresses, 4);
  EXPECT_EQ(v6.ipv4_asns, 0);
  EXPECT_EQ(v6.asns, 3);
  EXPECT_EQ(v6.prefixes, 2);  // 2001:db8::/32, 2001:db9::/32
  EXPECT_EQ(v6.answered_lookups, 3);
  EXPECT_DOUBLE_EQ(v6.set_change_ratio.value_or(-1), 1.0);
  EXPECT_DOUBLE_EQ(v6.new_address_ratio.value_or(-1), 0.5);

  const auto& down = features.at("down.test");
  EXPECT_EQ(down.probes, 3);
  EXPECT_EQ(down.answered_lookups, 0);
  EXPECT_FALSE(down.min_ttl.has_value());
  EXPECT_EQ(features.at("never.test"), Features{});
}

TEST_F(ScoreStoreTest, WindowAndCampaignSelectTheProbes) {
  store_histories("spring");
  ScoreStore store(scratch_.dsn());
  // [T0 + 2 min, T0 + 3 min): only the probes sent at minute 2.
  Window window;
  window.since = kT0 + minutes(2);
  window.until = kT0 + minutes(3);
  const auto narrow = sql_features(store, window);
  EXPECT_EQ(narrow.at("x.test").probes, 3);  // A, AAAA, NS at minute 2
  EXPECT_EQ(narrow.at("x.test").ipv4_addresses, 2);
  EXPECT_FALSE(narrow.at("x.test").set_change_ratio.has_value());
  EXPECT_EQ(narrow.at("v6.test").probes, 2);
  const auto history = store.history("x.test", window);
  EXPECT_TRUE(testing::same_features(
      narrow.at("x.test"),
      scoring::compute_features(history.domain_probes, history.other_probes, history.geo)));

  window = {};
  window.campaign = "spring";
  EXPECT_EQ(sql_features(store, window).at("x.test").probes, 9);
  window.campaign = "autumn";
  EXPECT_EQ(sql_features(store, window).at("x.test").probes, 0);
}

// The scan reads each answer set once and a probe's TTLs from its row: a set got again with
// its TTLs shifted (stored as the smallest TTL), with other TTL offsets (stored per record),
// and a window that keeps only part of a set's probes.
TEST_F(ScoreStoreTest, SetsSeenAgainWithOtherTtlsGiveTheReferenceFeatures) {
  storage::ProbeBatch batch;
  auto& r = batch.results;
  // v6.test, A: {10.5.0.1, 10.5.0.2} at minutes 0-3, TTLs (60, 30), (50, 20), (10, 40), (70, 40).
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> ttls{
      {60, 30}, {50, 20}, {10, 40}, {70, 40}};
  for (int minute = 0; minute < 4; ++minute) {
    const auto [first, second] = ttls[static_cast<std::size_t>(minute)];
    r.push_back(probe("v6.test", "v6.test", RrType::A, minute, Outcome::NoError,
                      {rr(Section::Answer, "v6.test", RrType::A, first, "10.5.0.1"),
                       rr(Section::Answer, "v6.test", RrType::A, second, "10.5.0.2")}));
  }
  // ...then {10.5.0.3} at minute 4, and the first set again at minute 5.
  r.push_back(a("v6.test", 4, {"10.5.0.3"}, 90));
  r.push_back(a("v6.test", 5, {"10.5.0.1", "10.5.0.2"}, 25));
  db_.store(batch);
  {
    pqxx::connection conn(scratch_.dsn());
    pqxx::read_transaction tx(conn);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM answer_sets a JOIN watchlist w USING (domain_id) "
                       "WHERE w.domain = 'v6.test'")[0]
                  .as<int>(),
              2);
    EXPECT_GE(tx.exec1("SELECT count(*) FROM observations o JOIN watchlist w USING (domain_id) "
                       "WHERE w.domain = 'v6.test' AND o.ttls IS NOT NULL")[0]
                  .as<int>(),
              1);
  }
  ScoreStore store(scratch_.dsn());
  const auto check = [&](const Window& window) {
    const auto features = sql_features(store, window).at("v6.test");
    const auto history = store.history("v6.test", window);
    EXPECT_TRUE(testing::same_features(
        features,
        scoring::compute_features(history.domain_probes, history.other_probes, history.geo)));
    return features;
  };
  const auto all = check({});
  EXPECT_EQ(all.answered_lookups, 6);
  EXPECT_EQ(all.min_ttl, 10);
  // 10 20 25 25 30 40 40 50 60 70 90 -> lower median of 11 values: 40
  EXPECT_EQ(all.median_ttl, 40);
  // Pairs: same x3, -> {1.3} (changed, 1/1 new), -> {1.1, 1.2} (changed, 2/2 new).
  EXPECT_DOUBLE_EQ(all.set_change_ratio.value_or(-1), 0.4);
  EXPECT_DOUBLE_EQ(all.new_address_ratio.value_or(-1), 0.4);
  Window late;
  late.since = kT0 + minutes(2);
  late.until = kT0 + minutes(5);
  const auto part = check(late);  // minutes 2, 3, 4
  EXPECT_EQ(part.answered_lookups, 3);
  EXPECT_EQ(part.min_ttl, 10);
  EXPECT_EQ(part.ipv4_addresses, 3);
}

// The scan reads the packed arrays of answer_set_contents and shared_parts itself (binary
// COPY, window_read.cc): names with quotes, backslashes, commas, braces and spaces, owners
// that are partly the domain's own name (NULL elements) and partly not, CNAME targets beside
// addresses (NULL address and target elements), glue in a shared part, and the NS host probed
// under its awkward name, all give the features the reference computes from the records view.
TEST_F(ScoreStoreTest, AwkwardNamesInPackedSetsGiveTheReferenceFeatures) {
  const std::string ns1 = R"(ns"1,{x}\.test)";
  const std::string ns2 = R"(ns 2\\"NULL".x.test)";
  const std::string edge = R"(edge,"\".x.test)";
  storage::ProbeBatch batch;
  batch.geo_build = "GeoLite2-ASN@1 GeoLite2-City@1";
  auto& r = batch.results;
  r.push_back(probe("x.test", "x.test", RrType::A, 0, Outcome::NoError,
                    {rr(Section::Answer, "x.test", RrType::CNAME, 300, edge),
                     rr(Section::Answer, edge, RrType::A, 30, "10.7.0.1"),
                     rr(Section::Answer, edge, RrType::A, 60, "10.7.0.2")}));
  r.push_back(a("x.test", 1, {"10.7.0.2", "10.7.0.3"}));
  r.push_back(probe("x.test", "x.test", RrType::NS, 0, Outcome::NoError,
                    {rr(Section::Answer, "x.test", RrType::NS, 600, ns1),
                     rr(Section::Answer, "x.test", RrType::NS, 600, ns2),
                     rr(Section::Additional, ns2, RrType::A, 600, "10.8.0.2"),
                     rr(Section::Additional, ns2, RrType::AAAA, 600, "2001:db8:8::2")}));
  r.push_back(probe("", ns1, RrType::A, 1, Outcome::NoError,
                    {rr(Section::Answer, ns1, RrType::A, 30, "10.8.0.1")}));
  batch.enrichment = {
      geo("10.7.0.1", 64501, "DE", 0.0, 0.0), geo("10.7.0.3", 64502, "NL", 10.0, 20.0),
      geo("10.8.0.1", 64601, "FR", 48.0, 2.0), geo("10.8.0.2", 64602, "FR", 48.0, 2.0)};
  db_.store(batch);
  {
    // The awkward names are stored in the packed arrays (not only in the records view).
    pqxx::connection conn(scratch_.dsn());
    pqxx::read_transaction tx(conn);
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM answer_set_contents "
                              "WHERE $1 = ANY(owners) AND $2 = ANY(targets)",
                              edge, edge)[0]
                  .as<int>(),
              1);
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM shared_parts WHERE $1 = ANY(owners)", ns2)[0]
                  .as<int>(),
              1);
  }
  ScoreStore store(scratch_.dsn());
  const auto x = sql_features(store, {}).at("x.test");
  const auto history = store.history("x.test", {});
  EXPECT_TRUE(testing::same_features(
      x, scoring::compute_features(history.domain_probes, history.other_probes, history.geo)));
  EXPECT_EQ(x.ipv4_addresses, 3);
  EXPECT_EQ(x.min_ttl, 30);
  EXPECT_EQ(x.ns_names, 2);
  EXPECT_EQ(x.ns_addresses, 3);  // ns1: 10.8.0.1 (its own probe); ns2: the glue, v4 and v6
  EXPECT_EQ(x.ns_asns, 2);
}

// Binary COPY as PostgreSQL sends it (binary_copy.h): text elements come back byte for byte
// (no quoting or escaping to undo), NULL elements and fields stay NULL, an empty string is
// not NULL, and integers, timestamps, floats and host addresses decode.
TEST_F(ScoreStoreTest, BinaryCopyDecodesWhatPostgresSends) {
  pqxx::connection conn(scratch_.dsn());
  pqxx::read_transaction tx(conn);
  const std::vector<std::string> texts{R"(a"b)", R"(c\d)", "e,f", "", "NULL", "{}", "tab\there"};
  int seen = 0;
  scoring::detail::copy_binary(
      tx,
      "SELECT ARRAY[$$a\"b$$, $$c\\d$$, 'e,f', NULL, '', 'NULL', '{}', E'tab\\there']::text[], "
      "ARRAY[30, NULL, -60]::bigint[], ARRAY[7]::integer[], NULL::bigint, "
      "'2000-01-01 00:00:01.5+00'::timestamptz, 1.25::float8, '10.1.2.3'::inet, "
      "'10.1.2.0/24'::inet, '2001:db8::1'::inet, 'x'::\"char\", -5::bigint, ''::text "
      "FROM generate_series(1, 3)",
      [&](const scoring::detail::BinaryRow& row) {
        ++seen;
        ASSERT_EQ(row.size(), 12U);
        scoring::detail::BinaryArray array;
        row.array(0, array);
        ASSERT_EQ(array.size(), 8U);
        EXPECT_EQ(array.text(0), texts[0]);
        EXPECT_EQ(array.text(1), texts[1]);
        EXPECT_EQ(array.text(2), texts[2]);
        EXPECT_TRUE(array.null(3));
        EXPECT_FALSE(array.null(4));
        EXPECT_EQ(array.text(4), "");
        EXPECT_EQ(array.text(5), "NULL");
        EXPECT_EQ(array.text(6), "{}");
        EXPECT_EQ(array.text(7), texts[6]);
        row.array(1, array);
        ASSERT_EQ(array.size(), 3U);
        EXPECT_EQ(array.integer(0), 30);
        EXPECT_TRUE(array.null(1));
        EXPECT_EQ(array.integer(2), -60);
        row.array(2, array);
        ASSERT_EQ(array.size(), 1U);
        EXPECT_EQ(array.integer(0), 7);
        EXPECT_TRUE(row.null(3));
        EXPECT_EQ(row.unix_micros(4), 946684801500000);
        EXPECT_DOUBLE_EQ(row.float64(5), 1.25);
        EXPECT_EQ(row.inet(6), IpAddress::parse("10.1.2.3"));
        EXPECT_FALSE(row.inet(7).has_value());  // a network, not a host
        EXPECT_EQ(row.inet(8), IpAddress::parse("2001:db8::1"));
        EXPECT_EQ(row.text(9), "x");
        EXPECT_EQ(row.integer(10), -5);
        EXPECT_FALSE(row.null(11));
        EXPECT_EQ(row.text(11), "");
        row.array(3, array);  // a NULL array: no elements
        EXPECT_EQ(array.size(), 0U);
      });
  EXPECT_EQ(seen, 3);
  // An error in the statement is an SQL error (with its SQLSTATE), not a lost connection.
  EXPECT_THROW(scoring::detail::copy_binary(tx, "SELECT 1/0", [](const auto&) {}), pqxx::sql_error);
}

TEST_F(ScoreStoreTest, ScoresAreStoredWithTheirWindowAndReadBack) {
  store_histories();
  ScoreStore store(scratch_.dsn());
  const auto rows = store.compute_features({});
  std::vector<scoring::Verdict> verdicts;
  for (const auto& row : rows) {
    verdicts.push_back(scoring::classify(row.features, {}, {}));
  }
  // Reasons with the characters that need quoting in arrays and COPY.
  verdicts[0].reasons.push_back(R"(quote " comma , backslash \ brace { tab	end)");
  Window window;
  window.until = kT0 + hours(1);
  const auto first = store.save(window, R"({"test": true})", rows, verdicts);
  const auto second = store.save(window, "{}", rows, verdicts);
  EXPECT_GT(second, first);

  const auto latest = store.latest_scores();
  ASSERT_EQ(latest.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(latest[i].domain, rows[i].domain);
    EXPECT_EQ(latest[i].score_run_id, second);
    EXPECT_EQ(latest[i].verdict, verdicts[i]);
    EXPECT_TRUE(testing::same_features(latest[i].features, rows[i].features));
    EXPECT_EQ(latest[i].window_end, kT0 + hours(1));
    EXPECT_FALSE(latest[i].window_start.has_value());
  }
  EXPECT_EQ(store.score_history("x.test").size(), 2U);
  EXPECT_EQ(store.latest_score("down.test")->verdict.label, scoring::Label::InsufficientData);
  EXPECT_FALSE(store.latest_score("not-watched.test").has_value());
  const auto addresses = store.addresses("x.test", {});
  ASSERT_EQ(addresses.size(), 4U);
  EXPECT_EQ(addresses[0].address, "10.1.0.3");  // seen twice, like 10.2.0.2, and sorts first
  EXPECT_EQ(addresses[0].times_seen, 2);
  EXPECT_EQ(addresses[0].asn, 64502);
  EXPECT_EQ(addresses[0].country, "NL");
  EXPECT_EQ(addresses[3].times_seen, 1);
}

TEST_F(ScoreStoreTest, AddressInfoFollowsTheNewestGeoBuild) {
  store_histories();
  pqxx::connection conn(scratch_.dsn());
  const auto country = [&](const std::string& view) {
    pqxx::work tx(conn);
    // `view` is one of two fixed names.
    const auto rows =
        tx.exec("SELECT country FROM " + view + " WHERE address = '10.1.0.1' LIMIT 1");
    return rows.empty() || rows[0][0].is_null() ? std::string("-") : rows[0][0].as<std::string>();
  };
  ASSERT_EQ(country("address_info"), "DE");
  ASSERT_EQ(country("answers"), "DE");
  {
    // A newer build (higher id) wins; an older one written afterwards does not.
    pqxx::work tx(conn);
    tx.exec(
        "INSERT INTO geo_builds (geo_build_id, tag) OVERRIDING SYSTEM VALUE "
        "VALUES (100, 'new'), (50, 'older')");
    tx.exec(
        "INSERT INTO address_geo (address, geo_build_id, asn, country) "
        "VALUES ('10.1.0.1', 100, 64999, 'NL')");
    tx.exec(
        "INSERT INTO address_geo (address, geo_build_id, asn, country) "
        "VALUES ('10.1.0.1', 50, 64998, 'FR')");
    tx.commit();
  }
  EXPECT_EQ(country("address_info"), "NL");
  EXPECT_EQ(country("answers"), "NL");
  ScoreStore store(scratch_.dsn());
  const auto seen = store.addresses("x.test", {});
  const auto found =
      std::find_if(seen.begin(), seen.end(), [](const auto& a) { return a.address == "10.1.0.1"; });
  ASSERT_NE(found, seen.end());
  EXPECT_EQ(found->country, "NL");
  {
    // Deleting the newest build's row falls back to the next newest.
    pqxx::work tx(conn);
    tx.exec("DELETE FROM address_geo WHERE geo_build_id = 100");
    tx.commit();
  }
  EXPECT_EQ(country("address_info"), "FR");
  EXPECT_EQ(country("answers"), "FR");
  {
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM address_info")[0].as<int>(),
              tx.exec1("SELECT count(DISTINCT address) FROM address_geo")[0].as<int>());
  }
}

/// Runs `sql` as fluxwatch_reader: "ok", "denied" (insufficient_privilege, SQLSTATE 42501),
/// or the error.
std::string as_reader(const std::string& dsn, const std::string& sql) {
  pqxx::connection conn(dsn);
  pqxx::work tx(conn);
  tx.exec("SET ROLE fluxwatch_reader");
  try {
    tx.exec(sql);
    return "ok";
  } catch (const pqxx::insufficient_privilege&) {
    return "denied";  // libpqxx 6.4 leaves sqlstate() empty on this subclass
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate() == "42501" ? "denied" : std::string(e.what());
  }
}

TEST_F(ScoreStoreTest, ReaderRoleReadsEverythingAndWritesNothing) {
  store_histories();
  ScoreStore store(scratch_.dsn());
  const auto rows = store.compute_features({});
  store.save({}, "{}", rows, std::vector<scoring::Verdict>(rows.size()));
  for (const char* read : {"SELECT count(*) FROM latest_scores", "SELECT * FROM answers",
                           "SELECT * FROM domain_addresses", "SELECT * FROM score_history",
                           "SELECT * FROM probes JOIN records USING (probe_id)",
                           "SELECT * FROM address_info", "SELECT * FROM schema_migrations"}) {
    EXPECT_EQ(as_reader(scratch_.dsn(), read), "ok") << read;
  }
  for (const char* write :
       {"INSERT INTO watchlist (domain) VALUES ('evil.test')", "DELETE FROM answer_set_counters",
        "UPDATE domain_scores SET label = 'stable'", "TRUNCATE answer_set_contents",
        "DELETE FROM observations", "INSERT INTO score_runs (window_end) VALUES (now())",
        "CREATE TABLE mine (x int)", "SELECT nextval('probe_id_blocks')"}) {
    EXPECT_EQ(as_reader(scratch_.dsn(), write), "denied") << write;
  }
  pqxx::connection conn(scratch_.dsn());
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM watchlist WHERE domain = 'evil.test'")[0].as<int>(), 0);
}

TEST(ScoringMigration, ConcurrentMigrationsOfSeveralDatabasesAllSucceed) {
  // The role is cluster-wide: four databases migrated at once must not trip over each other.
  std::vector<std::unique_ptr<testing::ScratchDatabase>> databases;
  for (int i = 0; i < 4; ++i) {
    databases.push_back(std::make_unique<testing::ScratchDatabase>());
  }
  std::vector<std::future<int>> results;
  for (const auto& database : databases) {
    results.push_back(std::async(std::launch::async, [dsn = database->dsn()] {
      storage::Database db(dsn);
      return db.migrate();
    }));
  }
  for (auto& result : results) {
    EXPECT_GE(result.get(), 4);
  }
  pqxx::connection conn(databases[0]->dsn());
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_roles WHERE rolname = 'fluxwatch_reader' AND NOT "
                     "rolcanlogin")[0]
                .as<int>(),
            1);
  EXPECT_TRUE(tx.exec1("SELECT has_table_privilege('fluxwatch_reader', 'domain_scores', "
                       "'SELECT') AND NOT has_table_privilege('fluxwatch_reader', "
                       "'domain_scores', 'INSERT')")[0]
                  .as<bool>());
}

}  // namespace
}  // namespace fluxwatch
