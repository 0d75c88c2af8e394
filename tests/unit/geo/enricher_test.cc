// Expected values come from MaxMind's test databases (MaxMind-DB test-data, built from its
// source-data/*.json) and were checked with `mmdblookup --file <db> --ip <address>`.

#include "fluxwatch/geo/enricher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "fluxwatch/common/error.h"

namespace fluxwatch::geo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::filesystem::path kDataDir = std::filesystem::path(FLUXWATCH_TEST_DATA_DIR) / "maxmind";
const std::filesystem::path kAsnDb = kDataDir / "GeoLite2-ASN-Test.mmdb";
const std::filesystem::path kCityDb = kDataDir / "GeoIP2-City-Test.mmdb";
const std::filesystem::path kLiteCityDb = kDataDir / "GeoLite2-City-Test.mmdb";

/// Both test databases, cache on.
GeoOptions both_databases(std::size_t cache_entries = 1024) {
  GeoOptions options;
  options.asn_database = kAsnDb;
  options.city_database = kCityDb;
  options.cache_entries = cache_entries;
  return options;
}

/// Runs `open` and returns the fluxwatch::Error message it threw ("" when none).
template <typename F>
std::string error_of(F&& open) {
  try {
    std::forward<F>(open)();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

/// A fresh scratch directory under the system temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (std::string("fluxwatch_geo_test_") + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// --- lookups ----------------------------------------------------------------------------

TEST(EnricherTest, AsnLookupIpv4) {
  Enricher enricher(both_databases());
  // GeoLite2-ASN-Test: 1.128.0.0/11 -> AS1221 "Telstra Pty Ltd".
  const GeoRecord& record = enricher.lookup("1.128.0.1");
  EXPECT_EQ(record.asn, 1221U);
  EXPECT_EQ(record.as_org, "Telstra Pty Ltd");
  // Both ends of the /11.
  EXPECT_EQ(enricher.lookup("1.128.0.0").asn, 1221U);
  EXPECT_EQ(enricher.lookup("1.159.255.255").asn, 1221U);
  // 12.81.92.0/22 -> AS7018 "AT&T Services".
  EXPECT_EQ(enricher.lookup("12.81.92.1").asn, 7018U);
  EXPECT_EQ(enricher.lookup("12.81.92.1").as_org, "AT&T Services");
}

TEST(EnricherTest, AsnEntryWithoutOrganization) {
  Enricher enricher(both_databases());
  // GeoLite2-ASN-Test: 216.160.83.56 -> {"autonomous_system_number": 209}, no organization.
  const GeoRecord& record = enricher.lookup("216.160.83.56");
  EXPECT_EQ(record.asn, 209U);
  EXPECT_EQ(record.as_org, "");
  EXPECT_EQ(record.city, "Milton");
}

TEST(EnricherTest, AddressInBothDatabasesFillsEveryColumn) {
  Enricher enricher(both_databases());
  // 89.160.20.112: AS29518 "Bredband2 AB" (ASN test db); Linköping, SE (City test db).
  GeoRecord expected;
  expected.asn = 29518;
  expected.as_org = "Bredband2 AB";
  expected.country_iso = "SE";
  expected.country_name = "Sweden";
  expected.city = "Link\xc3\xb6ping";  // UTF-8, as stored
  expected.latitude = 58.4167;
  expected.longitude = 15.6167;
  EXPECT_EQ(enricher.lookup("89.160.20.112"), expected);
  EXPECT_EQ(enricher.lookup("::ffff:89.160.20.112"), expected);
}

TEST(EnricherTest, AsnLookupIpv6) {
  Enricher enricher(both_databases());
  // 2600:6000::/20 -> AS237 "Merit Network Inc."
  const GeoRecord merit = enricher.lookup("2600:6000::1");
  EXPECT_EQ(merit.asn, 237U);
  EXPECT_EQ(merit.as_org, "Merit Network Inc.");
  // 2001:1700::/27 -> AS6730 "Sunrise Communications AG"; upper-case hex is the same address.
  const GeoRecord sunrise = enricher.lookup("2001:1700::1");
  EXPECT_EQ(sunrise.asn, 6730U);
  EXPECT_EQ(sunrise.as_org, "Sunrise Communications AG");
  EXPECT_EQ(enricher.lookup("2001:1700:0:0:0:0:0:ABCD"), sunrise);
}

TEST(EnricherTest, Ipv4MappedIpv6IsLookedUpAsIpv4) {
  Enricher enricher(both_databases());
  const GeoRecord mapped = enricher.lookup("::ffff:1.128.0.1");
  EXPECT_EQ(mapped.asn, 1221U);
  EXPECT_EQ(mapped.as_org, "Telstra Pty Ltd");
  EXPECT_EQ(enricher.lookup("::FFFF:81.2.69.160").city, "London");
  EXPECT_EQ(enricher.lookup("::ffff:5102:45a0").city, "London");  // 81.2.69.160 in hex
  EXPECT_EQ(enricher.lookup("::ffff:81.2.69.160"), enricher.lookup("81.2.69.160"));
}

TEST(EnricherTest, CityCountryAndLocation) {
  Enricher enricher(both_databases());

  // GeoIP2-City-Test: 81.2.69.160/27 -> London, GB.
  const GeoRecord london = enricher.lookup("81.2.69.160");
  EXPECT_EQ(london.country_iso, "GB");
  EXPECT_EQ(london.country_name, "United Kingdom");
  EXPECT_EQ(london.city, "London");
  ASSERT_TRUE(london.latitude && london.longitude);
  EXPECT_DOUBLE_EQ(*london.latitude, 51.5142);
  EXPECT_DOUBLE_EQ(*london.longitude, -0.0931);
  // Not in the ASN test database: those columns stay empty, the City ones are filled.
  EXPECT_FALSE(london.asn);
  EXPECT_EQ(london.as_org, "");
  EXPECT_FALSE(london.empty());

  // 2.125.160.216/29 -> Boxford, GB.
  const GeoRecord boxford = enricher.lookup("2.125.160.216");
  EXPECT_EQ(boxford.country_iso, "GB");
  EXPECT_EQ(boxford.city, "Boxford");
  EXPECT_DOUBLE_EQ(boxford.latitude.value_or(0), 51.75);
  EXPECT_DOUBLE_EQ(boxford.longitude.value_or(0), -1.25);

  // 216.160.83.56/29 -> Milton, US.
  const GeoRecord milton = enricher.lookup("216.160.83.56");
  EXPECT_EQ(milton.country_iso, "US");
  EXPECT_EQ(milton.country_name, "United States");
  EXPECT_EQ(milton.city, "Milton");
  EXPECT_DOUBLE_EQ(milton.latitude.value_or(0), 47.2513);
  EXPECT_DOUBLE_EQ(milton.longitude.value_or(0), -122.3149);

  // 2001:218::/32 -> Japan, no city.
  const GeoRecord japan = enricher.lookup("2001:218::1");
  EXPECT_EQ(japan.country_iso, "JP");
  EXPECT_EQ(japan.country_name, "Japan");
  EXPECT_EQ(japan.city, "");
  EXPECT_DOUBLE_EQ(japan.latitude.value_or(0), 35.68536);
  EXPECT_DOUBLE_EQ(japan.longitude.value_or(0), 139.75309);
}

TEST(EnricherTest, GeoLite2CityDatabaseIsAccepted) {
  GeoOptions options;
  options.city_database = kLiteCityDb;
  Enricher enricher(options);
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");
  EXPECT_EQ(enricher.lookup("216.160.83.56").country_iso, "US");
  EXPECT_FALSE(enricher.asn_info());
  ASSERT_TRUE(enricher.city_info());
  EXPECT_EQ(enricher.city_info()->database_type, "GeoLite2-City");
}

TEST(EnricherTest, AddressNotInDatabaseIsEmpty) {
  Enricher enricher(both_databases());
  for (const char* address : {"1.2.3.4", "1.160.0.0", "10.0.0.1", "127.0.0.1", "::1", "2001:db8::1",
                              "0.0.0.0", "255.255.255.255"}) {
    SCOPED_TRACE(address);
    const GeoRecord& record = enricher.lookup(address);
    EXPECT_TRUE(record.empty());
    EXPECT_EQ(record, GeoRecord{});
  }
}

TEST(EnricherTest, GarbageInputIsEmptyAndNeverThrows) {
  Enricher enricher(both_databases());
  const std::string with_nul("1.128.0.1\0junk", 14);
  for (const std::string& input :
       {std::string(), std::string("not an address"), std::string("example.com"),
        std::string("1.128.0.1 "), std::string(" 1.128.0.1"), std::string("1.128.0.256"),
        std::string("1.128.0"), std::string("1.128.0.1.5"), std::string("1.128.0.1/11"),
        std::string("::ffff:1.128.0.1.1"), std::string("2600:6000::1::1"),
        std::string("fe80::1%eth0"), std::string("[2600:6000::1]"), std::string("1.128.0.1:53"),
        std::string(1000, '1'), with_nul,
        // getaddrinfo, and so MMDB_lookup_string, would read these as 81.2.69.160 and
        // 1.128.0.1; they are not addresses in any text form fluxwatch stores.
        std::string("81.2.17824"), std::string("0x01800001"), std::string("0140000001"),
        std::string("25165825")}) {
    SCOPED_TRACE(input);
    GeoRecord record;
    EXPECT_NO_THROW(record = enricher.lookup(input));
    EXPECT_TRUE(record.empty());
  }
}

// --- cache ------------------------------------------------------------------------------

TEST(EnricherTest, CacheCountsHitsAndMisses) {
  Enricher enricher(both_databases());
  EXPECT_EQ(enricher.cache_hits(), 0U);
  EXPECT_EQ(enricher.cache_misses(), 0U);

  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(enricher.cache_hits(), 0U);
  EXPECT_EQ(enricher.cache_misses(), 1U);

  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(enricher.lookup("1.128.0.1").as_org, "Telstra Pty Ltd");
  EXPECT_EQ(enricher.cache_hits(), 2U);
  EXPECT_EQ(enricher.cache_misses(), 1U);

  // Unknown addresses are cached too: the answer is the same next round.
  EXPECT_TRUE(enricher.lookup("1.2.3.4").empty());
  EXPECT_TRUE(enricher.lookup("1.2.3.4").empty());
  EXPECT_EQ(enricher.cache_hits(), 3U);
  EXPECT_EQ(enricher.cache_misses(), 2U);
}

TEST(EnricherTest, FullCacheIsClearedAndKeepsAnsweringCorrectly) {
  Enricher enricher(both_databases(/*cache_entries=*/2));
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);        // miss, cache {a}
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");  // miss, cache {a, b}
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);        // hit
  EXPECT_EQ(enricher.cache_hits(), 1U);
  EXPECT_EQ(enricher.cache_misses(), 2U);

  EXPECT_EQ(enricher.lookup("2600:6000::1").asn, 237U);  // miss: full, cleared, cache {c}
  EXPECT_EQ(enricher.lookup("2600:6000::1").asn, 237U);  // hit
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);    // miss again: it was dropped
  EXPECT_EQ(enricher.cache_hits(), 2U);
  EXPECT_EQ(enricher.cache_misses(), 4U);
}

TEST(EnricherTest, ZeroCacheEntriesDisablesTheCache) {
  Enricher enricher(both_databases(/*cache_entries=*/0));
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");
  EXPECT_EQ(enricher.cache_hits(), 0U);
  EXPECT_EQ(enricher.cache_misses(), 3U);
}

TEST(EnricherTest, ReturnedReferenceIsValidUntilTheNextLookup) {
  Enricher enricher(both_databases(/*cache_entries=*/1));
  const GeoRecord& first = enricher.lookup("1.128.0.1");
  const GeoRecord copy = first;  // what a caller keeping it must do
  EXPECT_EQ(first.asn, 1221U);
  (void)enricher.lookup("81.2.69.160");  // clears the one-entry cache
  EXPECT_EQ(copy.asn, 1221U);
  EXPECT_EQ(copy.as_org, "Telstra Pty Ltd");
}

// --- configuration: missing, not configured, corrupt, wrong type -------------------------

TEST(EnricherTest, NothingConfiguredGivesEmptyRecordsAndNoWarnings) {
  Enricher enricher(GeoOptions{});
  EXPECT_TRUE(enricher.warnings().empty());
  EXPECT_FALSE(enricher.asn_info());
  EXPECT_FALSE(enricher.city_info());
  EXPECT_EQ(enricher.build_tag(), std::nullopt);  // no database: no build
  EXPECT_TRUE(enricher.lookup("1.128.0.1").empty());
  EXPECT_TRUE(enricher.lookup("81.2.69.160").empty());
}

TEST(EnricherTest, MissingFileIsSkippedWithOneWarning) {
  GeoOptions options = both_databases();
  options.city_database = kDataDir / "does-not-exist-City.mmdb";
  Enricher enricher(options);

  ASSERT_EQ(enricher.warnings().size(), 1U);
  EXPECT_THAT(enricher.warnings()[0], HasSubstr("does-not-exist-City.mmdb"));
  EXPECT_FALSE(enricher.city_info());
  ASSERT_TRUE(enricher.asn_info());

  // The ASN columns are filled, the City ones stay empty.
  const GeoRecord record = enricher.lookup("1.128.0.1");
  EXPECT_EQ(record.asn, 1221U);
  EXPECT_EQ(record.country_iso, "");
  EXPECT_TRUE(enricher.lookup("81.2.69.160").empty());
  EXPECT_EQ(enricher.build_tag(),
            "GeoLite2-ASN@" + std::to_string(enricher.asn_info()->build_epoch));
  // Lookups add no further warnings.
  EXPECT_EQ(enricher.warnings().size(), 1U);
}

TEST(EnricherTest, BothFilesMissingGiveTwoWarnings) {
  GeoOptions options;
  options.asn_database = kDataDir / "missing-ASN.mmdb";
  options.city_database = kDataDir / "missing-City.mmdb";
  Enricher enricher(options);
  ASSERT_EQ(enricher.warnings().size(), 2U);
  EXPECT_THAT(enricher.warnings()[0], HasSubstr("missing-ASN.mmdb"));
  EXPECT_THAT(enricher.warnings()[1], HasSubstr("missing-City.mmdb"));
  EXPECT_EQ(enricher.build_tag(), std::nullopt);  // no database: no build
  EXPECT_TRUE(enricher.lookup("1.128.0.1").empty());
}

/// A broken database given in either slot must throw a fluxwatch::Error naming the file.
void expect_open_fails(const std::filesystem::path& file, const std::string& detail) {
  SCOPED_TRACE(file.string());
  GeoOptions as_city;
  as_city.city_database = file;
  EXPECT_THAT(error_of([&] { Enricher enricher(as_city); }),
              AllOf(HasSubstr(file.filename().string()), HasSubstr(detail)));
  GeoOptions as_asn;
  as_asn.asn_database = file;
  EXPECT_THAT(error_of([&] { Enricher enricher(as_asn); }),
              AllOf(HasSubstr(file.filename().string()), HasSubstr(detail)));
}

TEST(EnricherTest, CorruptMetadataThrowsNamingTheFile) {
  // libmaxminddb rejects this one in MMDB_open.
  expect_open_fails(kDataDir / "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
                    "The MaxMind DB file contains invalid metadata");
}

TEST(EnricherTest, BrokenTestDatabasesOpenButAreRefusedByType) {
  // These open (their damage is in the search tree and data section, found only by
  // lookups: see mmdb_reader_test.cc) but are of type "Test", neither ASN nor City.
  expect_open_fails(kDataDir / "MaxMind-DB-test-broken-pointers-24.mmdb", "\"Test\"");
  expect_open_fails(kDataDir / "MaxMind-DB-test-broken-search-tree-24.mmdb", "\"Test\"");
}

TEST(EnricherTest, NotAnMmdbFileThrowsNamingTheFile) {
  expect_open_fails(kDataDir / "LICENSE-MIT", "invalid metadata");
  expect_open_fails(kDataDir / "README.md", "invalid metadata");
}

TEST(EnricherTest, EmptyFileAndDirectoryThrowNamingThePath) {
  const ScratchDir scratch;
  const auto empty = scratch.path() / "empty-City.mmdb";
  { std::ofstream create(empty); }
  const auto directory = scratch.path() / "directory-City.mmdb";
  std::filesystem::create_directory(directory);

  GeoOptions options;
  options.city_database = empty;
  EXPECT_THAT(error_of([&] { Enricher enricher(options); }), HasSubstr("empty-City.mmdb"));
  options.city_database = directory;
  EXPECT_THAT(error_of([&] { Enricher enricher(options); }),
              AllOf(HasSubstr("directory-City.mmdb"), HasSubstr("is a directory")));
}

TEST(EnricherTest, WrongDatabaseTypeThrows) {
  GeoOptions asn_as_city;
  asn_as_city.city_database = kAsnDb;
  EXPECT_THAT(error_of([&] { Enricher enricher(asn_as_city); }),
              AllOf(HasSubstr("GeoLite2-ASN-Test.mmdb"), HasSubstr("\"GeoLite2-ASN\""),
                    HasSubstr("\"City\" or \"Country\"")));

  GeoOptions city_as_asn;
  city_as_asn.asn_database = kCityDb;
  EXPECT_THAT(error_of([&] { Enricher enricher(city_as_asn); }),
              AllOf(HasSubstr("GeoIP2-City-Test.mmdb"), HasSubstr("\"GeoIP2-City\""),
                    HasSubstr("\"ASN\"")));
}

TEST(EnricherTest, ErrorIsThrownEvenWhenTheOtherDatabaseOpened) {
  // The ASN database opens first and must be closed again (valgrind checks the leak).
  GeoOptions options = both_databases();
  options.city_database = kAsnDb;
  EXPECT_THROW(Enricher enricher(options), Error);
}

// A database whose search tree is intact but whose data is not fails at start-up, with a
// ConfigError (exit status 2), instead of at the first lookup with empty columns (issue 16).
TEST(EnricherTest, DamagedDataSectionIsRefusedAtStartUp) {
  // GeoIP2-City-Test-Broken-Double-Format: its location doubles have the wrong size.
  GeoOptions options;
  options.asn_database = kAsnDb;
  options.city_database = kDataDir / "GeoIP2-City-Test-Broken-Double-Format.mmdb";
  try {
    Enricher enricher(options);
    ADD_FAILURE() << "opened a database whose data section is broken";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), AllOf(HasSubstr("GeoIP2-City-Test-Broken-Double-Format.mmdb"),
                                    HasSubstr("is corrupt")));
  }
}

// A copy of the ASN database with its data section zeroed: every record then decodes as an
// empty map, which libmaxminddb accepts; the start-up sample finds no ASN field in any.
TEST(EnricherTest, ZeroedDataSectionIsRefusedAtStartUp) {
  const ScratchDir scratch;
  const auto copy = scratch.path() / "zeroed-ASN.mmdb";
  std::string bytes;
  {
    std::ifstream in(kAsnDb, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Layout (MaxMind DB spec): search tree (node_count x record_size x 2 / 8 bytes), 16 zero
  // bytes, data section, then "\xAB\xCD\xEFMaxMind.com" and the metadata.
  const auto metadata = bytes.rfind("\xAB\xCD\xEFMaxMind.com");
  ASSERT_NE(metadata, std::string::npos);
  const std::size_t tree_bytes = 1341 * 28 * 2 / 8;  // GeoLite2-ASN-Test: 1341 nodes, 28 bits
  ASSERT_LT(tree_bytes + 16, metadata);
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(tree_bytes + 16),
            bytes.begin() + static_cast<std::ptrdiff_t>(metadata), '\0');
  std::ofstream(copy, std::ios::binary) << bytes;

  GeoOptions options;
  options.asn_database = copy;
  EXPECT_THROW(Enricher enricher(options), ConfigError);
  EXPECT_THAT(error_of([&] { Enricher enricher(options); }),
              AllOf(HasSubstr("zeroed-ASN.mmdb"), HasSubstr("is corrupt"),
                    HasSubstr("autonomous_system_number")));
  // The intact original opens.
  options.asn_database = kAsnDb;
  EXPECT_NO_THROW(Enricher enricher(options));
}

// --- a file changed on disk (issue 17.9) -------------------------------------------------

/// Overwrites `target` in place, as `cp source target` does: same inode, truncated, rewritten.
void overwrite_in_place(const std::filesystem::path& source, const std::filesystem::path& target) {
  ASSERT_TRUE(std::filesystem::is_regular_file(target));
  std::ifstream in(source, std::ios::binary);
  std::ofstream out(target, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  ASSERT_TRUE(out.good());
}

TEST(EnricherTest, FileOverwrittenInPlaceIsReopenedAndCorruptCopiesAreRefused) {
  const ScratchDir scratch;
  const auto city = scratch.path() / "City.mmdb";
  std::filesystem::copy_file(kCityDb, city);
  GeoOptions options;
  options.city_database = city;
  Enricher enricher(options);
  EXPECT_EQ(enricher.build_tag(), "GeoIP2-City@1770245369");
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");

  // Garbage written over the open file: the lookups still read the database as it was
  // opened (a private copy), before and after the batch boundary (build_tag), which refuses
  // the garbage and keeps the tag.
  overwrite_in_place(kDataDir / "LICENSE-MIT", city);
  EXPECT_EQ(enricher.lookup("2.125.160.216").city, "Boxford");
  EXPECT_FALSE(enricher.last_lookup_failed());
  EXPECT_EQ(enricher.build_tag(), "GeoIP2-City@1770245369");
  EXPECT_EQ(enricher.lookup("216.160.83.56").city, "Milton");
  EXPECT_EQ(enricher.city_info()->database_type, "GeoIP2-City");

  // A different database copied over it: reopened at the next batch boundary, cache cleared.
  overwrite_in_place(kLiteCityDb, city);
  EXPECT_EQ(enricher.build_tag(), "GeoLite2-City@1770245369");
  EXPECT_EQ(enricher.city_info()->database_type, "GeoLite2-City");
  EXPECT_EQ(enricher.city_info()->path, city);
  const auto misses = enricher.cache_misses();
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");
  EXPECT_EQ(enricher.cache_misses(), misses + 1);  // read from the new database, not the cache

  // A database that is corrupt at some addresses: its sampled data records do not decode
  // (detail::verify_sample), so the copy is refused like the garbage and the database in
  // memory stays in use. (Lookups that hit corrupt data in an opened database are flagged:
  // DatabaseCorruptAtSomeAddressesGivesEmptyColumnsThere.)
  overwrite_in_place(kDataDir / "GeoIP2-City-Test-Broken-Double-Format.mmdb", city);
  EXPECT_EQ(enricher.build_tag(), "GeoLite2-City@1770245369");
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");
  EXPECT_FALSE(enricher.last_lookup_failed());

  // Fixed on disk: reopened, and the same address is found again.
  overwrite_in_place(kCityDb, city);
  EXPECT_EQ(enricher.build_tag(), "GeoIP2-City@1770245369");
  EXPECT_EQ(enricher.lookup("81.2.69.160").city, "London");
  EXPECT_FALSE(enricher.last_lookup_failed());
}

TEST(EnricherTest, AFileReplacedByRenameIsReopened) {
  // `geo update` installs by rename (a new inode, maybe the same size and second).
  const ScratchDir scratch;
  const auto asn = scratch.path() / "ASN.mmdb";
  std::filesystem::copy_file(kAsnDb, asn);
  GeoOptions options;
  options.asn_database = asn;
  options.city_database = kCityDb;
  Enricher enricher(options);
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  (void)enricher.build_tag();  // unchanged: nothing reopened, the cache is kept
  const auto misses = enricher.cache_misses();
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(enricher.cache_misses(), misses);
  const auto fresh = scratch.path() / "ASN.mmdb.new";
  std::filesystem::copy_file(kAsnDb, fresh);
  std::filesystem::rename(fresh, asn);
  (void)enricher.build_tag();  // a new inode: reopened, the cache dropped
  EXPECT_EQ(enricher.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(enricher.cache_misses(), misses + 1);
  EXPECT_EQ(enricher.asn_info()->path, asn);
}

// --- metadata ---------------------------------------------------------------------------

TEST(EnricherTest, DatabaseInfoAndBuildTag) {
  Enricher enricher(both_databases());
  ASSERT_TRUE(enricher.asn_info());
  ASSERT_TRUE(enricher.city_info());
  // Both test files were built at 2026-02-04 22:49:29 UTC (mmdblookup --verbose).
  const DatabaseInfo asn{kAsnDb, "GeoLite2-ASN", 1770245369};
  const DatabaseInfo city{kCityDb, "GeoIP2-City", 1770245369};
  EXPECT_EQ(*enricher.asn_info(), asn);
  EXPECT_EQ(*enricher.city_info(), city);
  EXPECT_EQ(enricher.build_tag(), "GeoLite2-ASN@1770245369,GeoIP2-City@1770245369");
  EXPECT_TRUE(enricher.warnings().empty());
}

TEST(EnricherTest, BuildTagWithOnlyCity) {
  GeoOptions options;
  options.city_database = kCityDb;
  Enricher enricher(options);
  EXPECT_EQ(enricher.build_tag(), "GeoIP2-City@1770245369");
}

TEST(EnricherTest, MoveKeepsDatabasesAndCache) {
  Enricher first(both_databases());
  EXPECT_EQ(first.lookup("1.128.0.1").asn, 1221U);
  Enricher second(std::move(first));
  EXPECT_EQ(second.lookup("1.128.0.1").asn, 1221U);
  EXPECT_EQ(second.cache_hits(), 1U);
  Enricher third(GeoOptions{});
  third = std::move(second);
  EXPECT_EQ(third.build_tag(), "GeoLite2-ASN@1770245369,GeoIP2-City@1770245369");
  EXPECT_EQ(third.lookup("81.2.69.160").city, "London");
}

}  // namespace
}  // namespace fluxwatch::geo
