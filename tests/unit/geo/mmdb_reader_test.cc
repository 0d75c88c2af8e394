// White-box tests of the internal reader (geo/src): address parsing, and lookups in the
// deliberately broken MaxMind-DB test databases, which the Enricher refuses by type before
// any lookup. Broken addresses were found with `mmdblookup --file <db> --ip <address>`.

#include "mmdb_reader.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <string>

#include "address.h"
#include "fluxwatch/common/error.h"
#include "mmdb_handle.h"

namespace fluxwatch::geo::detail {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path kDataDir = std::filesystem::path(FLUXWATCH_TEST_DATA_DIR) / "maxmind";

/// `address` parsed (IpAddress::parse) as the socket address handed to libmaxminddb, or a
/// test failure.
SocketAddress parsed(const char* address) {
  const auto out = IpAddress::parse(address);
  EXPECT_TRUE(out) << address;
  return out ? to_socket_address(*out) : SocketAddress{};
}

/// The address in `parsed` back as text, to check what the parser produced.
std::string to_text(const SocketAddress& address) {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  const void* raw = nullptr;
  if (address.is_ipv6()) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    raw = &reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr;
  } else {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    raw = &reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr;
  }
  inet_ntop(address.get()->sa_family, raw, buffer.data(), buffer.size());
  return buffer.data();
}

TEST(ParseAddressTest, AcceptsIpv4AndIpv6AndUnwrapsIpv4Mapped) {
  EXPECT_EQ(to_text(parsed("192.0.2.1")), "192.0.2.1");
  EXPECT_FALSE(parsed("192.0.2.1").is_ipv6());
  EXPECT_EQ(to_text(parsed("2001:DB8::1")), "2001:db8::1");
  EXPECT_TRUE(parsed("2001:db8::1").is_ipv6());
  EXPECT_EQ(to_text(parsed("::ffff:192.0.2.1")), "192.0.2.1");
  EXPECT_FALSE(parsed("::ffff:192.0.2.1").is_ipv6());
  EXPECT_EQ(to_text(parsed("::ffff:c000:201")), "192.0.2.1");
  // IPv4-compatible (deprecated, RFC 4291 2.5.5.1) and NAT64 addresses stay IPv6.
  EXPECT_TRUE(parsed("::192.0.2.1").is_ipv6());
  EXPECT_TRUE(parsed("64:ff9b::192.0.2.1").is_ipv6());
}

TEST(ParseAddressTest, RejectsEverythingElse) {
  for (const char* input :
       {"", "localhost", "192.0.2", "192.0.2.1.", "192.0.2.256", "0xc0000201", "3221225985",
        "192.0.513", " 192.0.2.1", "192.0.2.1\n", "fe80::1%lo", "2001:db8::1/64", ":::"}) {
    EXPECT_FALSE(IpAddress::parse(input)) << input;
  }
  EXPECT_FALSE(IpAddress::parse(std::string_view("192.0.2.1\0x", 11)));
  EXPECT_FALSE(IpAddress::parse(std::string(INET6_ADDRSTRLEN, '1')));
}

TEST(MmdbHandleTest, AnyTypeIsAcceptedWithAnEmptyList) {
  const MmdbHandle handle(kDataDir / "MaxMind-DB-test-broken-pointers-24.mmdb", {}, {},
                          /*verify=*/false);
  EXPECT_EQ(handle.info().database_type, "Test");
  EXPECT_EQ(handle.info().build_epoch, 1695766448U);
}

TEST(MmdbHandleTest, OpenErrorNamesFileAndLibraryError) {
  try {
    const MmdbHandle handle(kDataDir / "no-such-file.mmdb", {});
    FAIL() << "expected fluxwatch::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no-such-file.mmdb"));
    EXPECT_THAT(e.what(), HasSubstr("Error opening the specified MaxMind DB file"));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

TEST(MmdbReaderTest, BrokenPointersAreErrorsNotCrashes) {
  const MmdbHandle handle(kDataDir / "MaxMind-DB-test-broken-pointers-24.mmdb", {"Test"}, {},
                          /*verify=*/false);
  GeoRecord record;
  // 1.1.1.16/28: the search tree points at bad data.
  EXPECT_EQ(read_asn(handle, parsed("1.1.1.16"), record), ReadStatus::Error);
  EXPECT_EQ(read_city(handle, parsed("1.1.1.31"), record), ReadStatus::Error);
  // 1.1.1.32: a search tree record that is not a valid node.
  EXPECT_EQ(read_asn(handle, parsed("1.1.1.32"), record), ReadStatus::Error);
  EXPECT_EQ(read_city(handle, parsed("1.1.1.32"), record), ReadStatus::Error);
  EXPECT_TRUE(record.empty());
  EXPECT_EQ(record, GeoRecord{});
  // Healthy parts still work: 1.1.1.1 holds {"ip": "1.1.1.1"}, no ASN or City fields.
  EXPECT_EQ(read_asn(handle, parsed("1.1.1.1"), record), ReadStatus::Found);
  EXPECT_EQ(read_city(handle, parsed("1.1.1.1"), record), ReadStatus::Found);
  EXPECT_TRUE(record.empty());
  EXPECT_EQ(read_asn(handle, parsed("1.1.1.33"), record), ReadStatus::NotFound);
  // An IPv6 address in this IPv4-only database is simply not there.
  EXPECT_EQ(read_asn(handle, parsed("2001:db8::1"), record), ReadStatus::NotFound);
  EXPECT_EQ(read_asn(handle, parsed("::ffff:1.1.1.1"), record), ReadStatus::Found);
}

TEST(MmdbReaderTest, BrokenSearchTreeIsAnErrorNotACrash) {
  const MmdbHandle handle(kDataDir / "MaxMind-DB-test-broken-search-tree-24.mmdb", {"Test"}, {},
                          /*verify=*/false);
  GeoRecord record;
  // The right half of the tree points outside the data section.
  EXPECT_EQ(read_asn(handle, parsed("255.255.255.255"), record), ReadStatus::Error);
  EXPECT_EQ(read_city(handle, parsed("255.255.255.255"), record), ReadStatus::Error);
  EXPECT_TRUE(record.empty());
  EXPECT_EQ(read_city(handle, parsed("1.1.1.32"), record), ReadStatus::Found);
  EXPECT_EQ(read_city(handle, parsed("1.1.1.33"), record), ReadStatus::NotFound);
}

TEST(MmdbReaderTest, BrokenDoubleLeavesTheRecordUntouched) {
  const MmdbHandle handle(kDataDir / "GeoIP2-City-Test-Broken-Double-Format.mmdb", {"City"}, {},
                          /*verify=*/false);
  GeoRecord record;
  record.asn = 1221;  // set by another database: must survive
  // country.iso_code alone reads fine here ("GB"), but location.latitude does not.
  EXPECT_EQ(read_city(handle, parsed("81.2.69.160"), record), ReadStatus::Error);
  EXPECT_EQ(record.asn, 1221U);
  EXPECT_EQ(record.country_iso, "");
  EXPECT_FALSE(record.latitude);
}

TEST(MmdbReaderTest, HealthyDatabasesFillOnlyTheirFields) {
  const MmdbHandle asn(kDataDir / "GeoLite2-ASN-Test.mmdb", {"ASN"});
  const MmdbHandle city(kDataDir / "GeoIP2-City-Test.mmdb", {"City"});
  GeoRecord record;
  EXPECT_EQ(read_asn(asn, parsed("2.125.160.216"), record), ReadStatus::NotFound);
  EXPECT_EQ(read_city(city, parsed("2.125.160.216"), record), ReadStatus::Found);
  EXPECT_FALSE(record.asn);
  EXPECT_EQ(record.city, "Boxford");
  // The ASN database has no City fields, and the City database no ASN fields.
  GeoRecord other;
  EXPECT_EQ(read_city(asn, parsed("1.128.0.1"), other), ReadStatus::Found);
  EXPECT_TRUE(other.empty());
}

}  // namespace
}  // namespace fluxwatch::geo::detail
