// Integration tests of fluxwatch::storage against a real PostgreSQL (the ctest fixture
// "postgres"): every test gets a fresh scratch database; assertions read the rows back with
// plain SQL, the way researchers will.

#include "fluxwatch/storage/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fluxwatch/common/error.h"
#include "storage_test_support.h"
#include "support/test_env.h"

namespace fluxwatch::storage {
namespace {

using namespace std::chrono;
using fluxwatch::testing::ScratchDatabase;
using ::testing::HasSubstr;

std::int64_t id_of(const std::vector<WatchedDomain>& domains, const std::string& name) {
  for (const auto& domain : domains) {
    if (domain.domain == name) {
      return domain.id;
    }
  }
  ADD_FAILURE() << "not on the watchlist: " << name;
  return 0;
}

/// A scratch database with the schema and a small watchlist.
class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.migrate();
    db_.import_watchlist({{"example-flux.test", "lab", {"flux"}},
                          {"nx.test", "lab", {}},
                          {"timeout.test", "lab", {}},
                          {"cname.test", "lab", {}},
                          {"never.test", "lab", {}}});
    domains_ = db_.watched_domains();
  }

  std::int64_t id(const std::string& name) const { return id_of(domains_, name); }

  /// The batch of the store/summary tests: every outcome shape the crawler produces.
  ProbeBatch sample_batch(std::int64_t run_id) const {
    ProbeBatch batch;
    batch.run_id = run_id;

    auto a = probe(id("example-flux.test"), "example-flux.test", RrType::A, kT0 + 123456789ns,
                   Outcome::NoError, 0);
    a.records = {
        rr(Section::Answer, "example-flux.test", RrType::A, 300, "192.0.2.1"),
        rr(Section::Answer, "example-flux.test", RrType::A, 60, "192.0.2.2"),
        rr(Section::Authority, "example-flux.test", RrType::NS, 3600, "ns1.example-flux.test"),
        // Glue: an address, but not an answer; it must not count as the domain's.
        rr(Section::Additional, "ns1.example-flux.test", RrType::A, 3600, "198.51.100.53")};
    auto aaaa = probe(id("example-flux.test"), "example-flux.test", RrType::AAAA, kT0 + 2s,
                      Outcome::NoError, 0);
    aaaa.via_tcp = true;
    aaaa.records = {rr(Section::Answer, "example-flux.test", RrType::AAAA, 120, "2001:db8::1")};
    auto ns = probe(id("example-flux.test"), "example-flux.test", RrType::NS, kT0 + 3s,
                    Outcome::NoError, 0);
    ns.records = {
        rr(Section::Answer, "example-flux.test", RrType::NS, 3600, "ns1.example-flux.test"),
        rr(Section::Answer, "example-flux.test", RrType::NS, 3600, "ns2.example-flux.test")};
    // The latest probe of the domain, but not an A probe: last_outcome ignores it.
    auto servfail = probe(id("example-flux.test"), "example-flux.test", RrType::AAAA, kT0 + 10s,
                          Outcome::ServFail, 2);

    auto nx = probe(id("nx.test"), "nx.test", RrType::A, kT0 + 1s, Outcome::NxDomain, 3);
    nx.records = {rr(Section::Authority, "test", RrType::SOA, 300,
                     "ns1.test hostmaster.test 2026112201 7200 3600 1209600 300")};

    auto timeout =
        probe(id("timeout.test"), "timeout.test", RrType::A, kT0 + 1s, Outcome::Timeout, -1);
    timeout.latency = seconds(4);
    timeout.detail = "no answer from 192.0.2.53:53 after 2 tries";

    auto cname =
        probe(id("cname.test"), "www.cname.test", RrType::A, kT0 + 1s, Outcome::NoError, 0);
    cname.records = {rr(Section::Answer, "www.cname.test", RrType::CNAME, 600, "edge.cdn.test"),
                     rr(Section::Answer, "edge.cdn.test", RrType::CNAME, 600, "edge2.cdn.test"),
                     rr(Section::Answer, "edge2.cdn.test", RrType::A, 30, "203.0.113.7")};

    batch.results = {a, aaaa, ns, servfail, nx, timeout, cname};
    return batch;
  }

  ScratchDatabase scratch_;
  Database db_{scratch_.dsn()};
  std::vector<WatchedDomain> domains_;
};

GeoRecord geo(std::uint32_t asn, std::string org, std::string iso, std::string country,
              std::string city, double latitude, double longitude) {
  return GeoRecord{asn,      std::move(org), std::move(iso), std::move(country), std::move(city),
                   latitude, longitude};
}

TEST_F(StorageTest, RunsRecordSettingsAndTotals) {
  const auto run = db_.begin_run("crawl", R"({"qps": 50, "resolver": "192.0.2.53:53"})");
  EXPECT_GT(run, 0);
  EXPECT_EQ(query_text(scratch_.dsn(), "SELECT settings->>'qps' FROM probe_runs WHERE run_id = " +
                                           std::to_string(run)),
            "50");
  EXPECT_EQ(query_text(scratch_.dsn(), "SELECT finished_at FROM probe_runs"), "NULL");
  db_.finish_run(run, RunTotals{7, 9, 1});
  EXPECT_EQ(query_text(scratch_.dsn(),
                       "SELECT format('%s/%s/%s/%s', probes, records, errors, "
                       "finished_at >= started_at) FROM probe_runs"),
            "7/9/1/t");
  EXPECT_THROW(db_.finish_run(run + 1000, RunTotals{}), Error);
  EXPECT_THROW(static_cast<void>(db_.begin_run("crawl", "{not json")), Error);
  const auto bare = db_.begin_run("report", "");
  EXPECT_EQ(query_text(scratch_.dsn(),
                       "SELECT settings FROM probe_runs WHERE run_id = " + std::to_string(bare)),
            "NULL");
}

// --- store --------------------------------------------------------------------------------

TEST_F(StorageTest, StoreWritesProbesAndRecords) {
  const auto run = db_.begin_run("crawl", "{}");
  db_.store(sample_batch(run));
  const auto& dsn = scratch_.dsn();

  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM probes"), 7);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM records"), 11);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM probes WHERE run_id = " + std::to_string(run)), 7);
  EXPECT_EQ(query_int(dsn, "SELECT count(DISTINCT probe_id) FROM probes"), 7);

  // NOERROR A probe: enum text, rcode, NULL detail, latency, microsecond timestamp.
  const std::string a_probe = "FROM probes WHERE qname = 'example-flux.test' AND qtype = 'A'";
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s|%s|%s', outcome, rcode, detail IS NULL, "
                       "latency_us, via_tcp, resolver) " +
                           a_probe),
            "NOERROR|0|t|1500|f|192.0.2.53:53");
  EXPECT_EQ(query_text(dsn, "SELECT sent_at = '2026-11-22 10:00:00.123456+00' " + a_probe), "t");
  EXPECT_EQ(query_text(dsn,
                       "SELECT to_char(sent_at AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD HH24:MI:SS.US') " +
                           a_probe),
            "2026-11-22 10:00:00.123456");
  EXPECT_EQ(query_text(dsn,
                       "SELECT string_agg(host(address) || '/' || family(address) || '/' "
                       "|| ttl, ',' ORDER BY address) FROM records r JOIN probes p USING "
                       "(probe_id) WHERE p.qtype = 'A' AND p.qname = 'example-flux.test' "
                       "AND r.section = 'answer'"),
            "192.0.2.1/4/300,192.0.2.2/4/60");
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s', section, target, address IS NULL) FROM "
                       "records WHERE rtype = 'NS' AND section = 'authority'"),
            "authority|ns1.example-flux.test|t");
  EXPECT_EQ(query_text(dsn, "SELECT section FROM records WHERE address = '198.51.100.53'"),
            "additional");

  // AAAA over TCP.
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s', r.address, family(r.address), p.via_tcp) "
                       "FROM records r JOIN probes p USING (probe_id) WHERE r.rtype = "
                       "'AAAA'"),
            "2001:db8::1|6|t");
  EXPECT_EQ(query_text(dsn, "SELECT count(*) FROM records WHERE address = '2001:db8::1'::inet"),
            "1");

  // NXDOMAIN: no answer records, the SOA in authority with its rdata as text.
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s', outcome, rcode) FROM probes WHERE qname = "
                       "'nx.test'"),
            "NXDOMAIN|3");
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s|%s', r.section, r.owner, r.rtype, "
                       "r.target, r.address IS NULL) FROM records r JOIN probes p USING "
                       "(probe_id) WHERE p.qname = 'nx.test'"),
            "authority|test|SOA|ns1.test hostmaster.test 2026112201 7200 3600 1209600 300|t");

  // TIMEOUT: no answer, so a NULL rcode, and the detail.
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s', outcome, rcode IS NULL, latency_us, "
                       "detail) FROM probes WHERE qname = 'timeout.test'"),
            "TIMEOUT|t|4000000|no answer from 192.0.2.53:53 after 2 tries");
  EXPECT_EQ(query_int(dsn,
                      "SELECT count(*) FROM records r JOIN probes p USING (probe_id) "
                      "WHERE p.qname = 'timeout.test'"),
            0);

  // The CNAME chain: qname differs from the watched domain.
  EXPECT_EQ(query_text(dsn,
                       "SELECT w.domain FROM probes p JOIN watchlist w USING (domain_id) "
                       "WHERE p.qname = 'www.cname.test'"),
            "cname.test");
  EXPECT_EQ(query_text(dsn,
                       "SELECT string_agg(owner || '>' || coalesce(target, host(address)), "
                       "' ' ORDER BY ttl DESC, owner DESC) FROM records r JOIN probes p "
                       "USING (probe_id) WHERE p.qname = 'www.cname.test'"),
            "www.cname.test>edge.cdn.test edge.cdn.test>edge2.cdn.test edge2.cdn.test>203.0.113.7");
}

TEST_F(StorageTest, StoreWritesNullsAndEscapesInCopy) {
  ProbeBatch batch;  // run_id 0: no run
  auto odd = probe(0, "not-watched.test", RrType::A, kT0, Outcome::NetError, -1);
  odd.latency = microseconds(0);
  odd.detail = "tab\there, newline\nthere, back\\slash, \\N, unicode: M\xc3\xbcnchen \xe2\x9c\x93";
  odd.records = {rr(Section::Answer, "not-watched.test", RrType::A, 4294967295u, "not-an-ip"),
                 ResourceRecord{Section::Answer, "not-watched.test", 16, 10, "\"v=spf1 -all\""},
                 ResourceRecord{Section::Answer, "not-watched.test", 65280, 10, ""}};
  batch.results = {odd};
  db_.store(batch);
  const auto& dsn = scratch_.dsn();
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s', run_id IS NULL, domain_id IS NULL, "
                       "rcode IS NULL, latency_us IS NULL) FROM probes"),
            "t|t|t|t");
  EXPECT_EQ(query_text(dsn, "SELECT detail FROM probes"), odd.detail);
  // A garbled address lands in target rather than failing the batch.
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s', address IS NULL, target, ttl) FROM "
                       "records WHERE rtype = 'A'"),
            "t|not-an-ip|4294967295");
  EXPECT_EQ(query_text(dsn, "SELECT target FROM records WHERE rtype = 'TXT'"), "\"v=spf1 -all\"");
  EXPECT_EQ(query_text(dsn, "SELECT target FROM records WHERE rtype = 'TYPE65280'"), "NULL");
}

TEST_F(StorageTest, StoreRoundTripsAwkwardTextAcrossManyCopyChunks) {
  // Text with every byte COPY escapes, at the start, middle and end of fields, UTF-8, and
  // fields far longer than one chunk of the writer's buffer (64 KiB): read back verbatim.
  const std::vector<std::string> awkward = {
      "tab\tinside",
      "\tleading tab",
      "trailing backslash\\",
      "\\N",
      "\\.",
      "line\nbreak and\r\ncrlf",
      "\\t is not a tab, \\\\ is two backslashes",
      "M\xc3\xbcnchen \xe2\x9c\x93 \xf0\x9f\x8c\x8d \xe6\x9d\xb1\xe4\xba\xac",
      "quote ' and \" and ; -- SQL-ish",
      "\x01\x02 controls \x7f",
  };
  std::string long_text;
  while (long_text.size() < 300'000) {
    long_text += awkward[long_text.size() % awkward.size()] + "|";
  }
  ProbeBatch batch;
  constexpr int kProbes = 3000;  // several chunks of rows as well
  for (int i = 0; i < kProbes; ++i) {
    const std::string& text = awkward[static_cast<std::size_t>(i) % awkward.size()];
    auto result = probe(0, "p" + std::to_string(i) + ".test", RrType::A, kT0 + seconds(i),
                        Outcome::NoError, 0);
    result.detail = i == 1234 ? long_text : text + " #" + std::to_string(i);
    result.campaign = text;
    result.vantage = i % 3 == 0 ? std::string() : text;  // empty: NULL
    result.server_name = text;
    result.records = {
        ResourceRecord{Section::Answer, result.name, 16, 1, text},
        ResourceRecord{Section::Answer, result.name, 16, 2, i == 1234 ? long_text : text},
        rr(Section::Answer, result.name, RrType::A, 3, "192.0.2." + std::to_string(i % 250))};
    batch.results.push_back(std::move(result));
  }
  db_.store(batch);

  pqxx::connection connection(scratch_.dsn());
  pqxx::read_transaction tx(connection);
  const pqxx::result probes =
      tx.exec("SELECT qname, detail, campaign, vantage, server_name FROM probes ORDER BY probe_id");
  ASSERT_EQ(probes.size(), static_cast<std::size_t>(kProbes));
  for (int i = 0; i < kProbes; ++i) {
    const ProbeResult& sent = batch.results[static_cast<std::size_t>(i)];
    const pqxx::row row = probes[i];
    ASSERT_EQ(row[0].as<std::string>(), sent.name);
    ASSERT_EQ(row[1].as<std::string>(), sent.detail) << sent.name;
    ASSERT_EQ(row[2].as<std::string>(), sent.campaign) << sent.name;
    ASSERT_EQ(row[3].is_null(), sent.vantage.empty()) << sent.name;
    if (!sent.vantage.empty()) {
      ASSERT_EQ(row[3].as<std::string>(), sent.vantage) << sent.name;
    }
    ASSERT_EQ(row[4].as<std::string>(), sent.server_name) << sent.name;
  }
  const pqxx::result records = tx.exec(
      "SELECT p.qname, r.ttl, r.rtype, r.target, host(r.address) FROM records r "
      "JOIN probes p USING (probe_id) ORDER BY r.probe_id, r.ttl");
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kProbes) * 3);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ResourceRecord& sent = batch.results[i / 3].records[i % 3];
    const pqxx::row row = records[static_cast<int>(i)];
    ASSERT_EQ(row[0].as<std::string>(), batch.results[i / 3].name);
    ASSERT_EQ(row[1].as<std::uint32_t>(), sent.ttl);
    ASSERT_EQ(row[2].as<std::string>(), rrtype_name(sent.type));
    if (sent.type == 16) {
      ASSERT_EQ(row[3].as<std::string>(), sent.data) << row[0].as<std::string>();
      ASSERT_TRUE(row[4].is_null());
    } else {
      ASSERT_TRUE(row[3].is_null());
      ASSERT_EQ(row[4].as<std::string>(), sent.data);
    }
  }
  // The long field went through as one piece (PostgreSQL counts its bytes the same).
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT max(octet_length(detail)) FROM probes"),
            static_cast<std::int64_t>(long_text.size()));
}

TEST_F(StorageTest, StoreRejectsTextPostgresqlCannotStoreAndStaysUsable) {
  // Not UTF-8: PostgreSQL refuses the COPY. store() says so with the server's message and
  // SQLSTATE, nothing of the batch is stored, and the next batch goes through.
  auto batch = sample_batch(0);
  batch.results.back().detail = "latin-1 \xe9t\xe9";
  EXPECT_THAT([&] { db_.store(batch); },
              ::testing::ThrowsMessage<Error>(::testing::AllOf(HasSubstr("storage: store failed"),
                                                               HasSubstr("invalid byte sequence"),
                                                               HasSubstr("SQLSTATE 22021"))));
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM probes"), 0);
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM records"), 0);
  db_.store(sample_batch(0));
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM probes"), 7);
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM records"), 11);
}

TEST_F(StorageTest, StoreWritesScheduleContextAndTheAaBit) {
  ProbeBatch batch;
  auto scheduled = probe(0, "scheduled.test", RrType::A, kT0 + 2500ms, Outcome::NoError, 0);
  scheduled.authoritative = true;
  scheduled.due_at = kT0;
  scheduled.campaign = "nightly";
  scheduled.vantage = "lab-1";
  auto timeout = probe(0, "silent.test", RrType::A, kT0, Outcome::Timeout, -1);
  timeout.authoritative = true;  // no answer: stored as unknown, not as true
  batch.results = {scheduled, timeout};
  db_.store(batch);
  const auto& dsn = scratch_.dsn();
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s', authoritative, sent_at - due_at, campaign, "
                       "vantage) FROM probes WHERE qname = 'scheduled.test'"),
            "t|00:00:02.5|nightly|lab-1");
  EXPECT_EQ(
      query_text(dsn,
                 "SELECT format('%s|%s|%s|%s', authoritative IS NULL, due_at IS NULL, "
                 "campaign IS NULL, vantage IS NULL) FROM probes WHERE qname = 'silent.test'"),
      "t|t|t|t");
}

TEST_F(StorageTest, StoreEmptyBatchIsANoOp) {
  db_.store(ProbeBatch{});
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM probes"), 0);
}

TEST_F(StorageTest, ProbeIdsComeFromBlocks) {
  ProbeBatch batch;
  for (int i = 0; i < 1001; ++i) {
    batch.results.push_back(
        probe(id("nx.test"), "nx.test", RrType::A, kT0 + seconds(i), Outcome::NxDomain, 3));
  }
  db_.store(batch);
  db_.store(ProbeBatch{0, {batch.results.front()}, {}, {}});
  const auto& dsn = scratch_.dsn();
  EXPECT_EQ(query_int(dsn, "SELECT count(DISTINCT probe_id) FROM probes"), 1002);
  EXPECT_EQ(query_int(dsn, "SELECT min(probe_id) FROM probes"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT max(probe_id) FROM probes"), 2001);  // third block
}

TEST_F(StorageTest, EnrichmentIsStoredOncePerAddressAndBuild) {
  auto batch = sample_batch(0);
  batch.geo_build = "GeoLite2-ASN 2026-11-20";
  batch.enrichment = {
      {"192.0.2.1", geo(64500, "Example AS", "NL", "Netherlands", "Amsterdam", 52.37, 4.89)},
      {"192.0.2.2", geo(64501, "Soci\xc3\xa9t\xc3\xa9 Exemple", "DE", "Germany", "", 52.5, 13.4)},
      {"2001:db8::1", geo(64500, "Example AS", "NL", "Netherlands", "", 52.37, 4.89)}};
  db_.store(batch);

  ProbeBatch second;
  second.geo_build = "GeoLite2-ASN 2026-11-20";
  second.enrichment = {
      {"192.0.2.1", geo(64999, "Changed", "US", "United States", "", 1.0, 2.0)},  // ignored
      {"203.0.113.7", geo(64502, "CDN", "US", "United States", "Ashburn", 39.0438, -77.4874)},
      {"203.0.113.7", geo(64502, "CDN", "US", "United States", "Ashburn", 39.0438, -77.4874)}};
  second.enrichment.push_back({"203.0.113.8", GeoRecord{}});  // nothing known: NULLs
  db_.store(second);

  const auto& dsn = scratch_.dsn();
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM geo_builds"), 1);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM address_geo"), 5);
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s|%s', asn, as_org, country, city, "
                       "latitude) FROM address_geo WHERE address = '192.0.2.1'"),
            "64500|Example AS|NL|Amsterdam|52.37");
  EXPECT_EQ(query_text(dsn, "SELECT as_org FROM address_geo WHERE address = '192.0.2.2'"),
            "Soci\xc3\xa9t\xc3\xa9 Exemple");
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s', city IS NULL, longitude) FROM address_geo "
                       "WHERE address = '203.0.113.7'"),
            "f|-77.4874");
  EXPECT_EQ(query_text(dsn,
                       "SELECT format('%s|%s|%s|%s', asn IS NULL, as_org IS NULL, country "
                       "IS NULL, latitude IS NULL) FROM address_geo WHERE address = "
                       "'203.0.113.8'"),
            "t|t|t|t");

  // A new build is another row per address.
  ProbeBatch rebuilt;
  rebuilt.geo_build = "GeoLite2-ASN 2026-12-01";
  rebuilt.enrichment = {{"192.0.2.1", geo(64999, "Moved", "FR", "France", "", 48.8, 2.3)}};
  db_.store(rebuilt);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM geo_builds"), 2);
  EXPECT_EQ(query_int(dsn, "SELECT count(*) FROM address_geo WHERE address = '192.0.2.1'"), 2);
}

// --- summaries ----------------------------------------------------------------------------

TEST_F(StorageTest, SummariesAggregateEveryWatchedDomain) {
  auto batch = sample_batch(0);
  batch.geo_build = "lab";
  batch.enrichment = {
      {"192.0.2.1", geo(64500, "Example AS", "NL", "Netherlands", "", 52.37, 4.89)},
      {"192.0.2.2", geo(64501, "Other AS", "DE", "Germany", "", 52.5, 13.4)},
      {"2001:db8::1", geo(64500, "Example AS", "NL", "Netherlands", "", 52.37, 4.89)},
      {"198.51.100.53", geo(64999, "Glue AS", "SE", "Sweden", "", 59.3, 18.1)},  // glue only
      {"203.0.113.7", geo(64502, "CDN", "US", "United States", "", 39.0, -77.5)}};
  db_.store(batch);

  const auto at = [](system_clock::time_point tp) {
    return std::optional<system_clock::time_point>(floor<microseconds>(tp));
  };
  const std::vector<DomainSummary> expected = {
      {"cname.test", 1, 1, 0, 1, 1, 0, 30, "NOERROR", at(kT0 + 1s)},
      {"example-flux.test", 4, 2, 1, 2, 2, 2, 60, "NOERROR", at(kT0 + 10s)},
      {"never.test", 0, 0, 0, 0, 0, 0, std::nullopt, "", std::nullopt},
      {"nx.test", 1, 0, 0, 0, 0, 0, std::nullopt, "NXDOMAIN", at(kT0 + 1s)},
      {"timeout.test", 1, 0, 0, 0, 0, 0, std::nullopt, "TIMEOUT", at(kT0 + 1s)},
  };
  const auto summaries = db_.summaries();
  ASSERT_EQ(summaries.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(summaries[i], expected[i]) << "domain " << expected[i].domain;
  }

  // Without any A probe, the latest probe of any type decides.
  ProbeBatch only_ns;
  only_ns.results = {
      probe(id("never.test"), "never.test", RrType::NS, kT0, Outcome::Refused, 5),
      probe(id("never.test"), "never.test", RrType::AAAA, kT0 + 5s, Outcome::NoData, 0)};
  db_.store(only_ns);
  for (const auto& summary : db_.summaries()) {
    if (summary.domain == "never.test") {
      EXPECT_EQ(summary.last_outcome, "NODATA");
      EXPECT_EQ(summary.probes, 2);
    }
  }
}

// --- connections ------------------------------------------------------------------------

TEST(StorageConnection, BadDsnThrowsHelpfulError) {
  try {
    Database db("host=/nonexistent/fluxwatch-test port=1 dbname=nothing connect_timeout=2");
    FAIL() << "connected to a server that does not exist";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot connect to PostgreSQL"));
    EXPECT_THAT(error.what(), HasSubstr("host=/nonexistent/fluxwatch-test"));
    EXPECT_THAT(error.what(), HasSubstr("dbname=nothing"));
    EXPECT_THAT(error.what(), HasSubstr("PGHOST/PGDATABASE"));
  }
  EXPECT_THROW(Database("this is not = a dsn ="), Error);
}

TEST_F(StorageTest, StoreSurvivesATerminatedBackend) {
  // Kill every other session on the scratch database (that is, db_'s), as a server restart
  // or a network failure would.
  pqxx::connection admin(scratch_.dsn());
  {
    pqxx::nontransaction tx(admin);
    const auto killed = tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    ASSERT_GE(killed.size(), 1u);
  }
  ASSERT_TRUE(fluxwatch::testing::wait_until(
      [&] {
        pqxx::nontransaction tx(admin);
        return tx.exec(
                     "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                     "current_database() AND pid <> pg_backend_pid()")[0][0]
                   .as<int>() == 0;
      },
      seconds(10)));

  db_.store(sample_batch(0));
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM probes"), 7);
  EXPECT_EQ(query_int(scratch_.dsn(), "SELECT count(*) FROM records"), 11);
  // And the connection is good for the next call.
  EXPECT_EQ(db_.summaries().size(), 5u);
}

}  // namespace
}  // namespace fluxwatch::storage
