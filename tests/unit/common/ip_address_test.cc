// IpAddress: parsed once from text or RDATA bytes, then compared, hashed, masked, formatted.
#include "fluxwatch/common/ip_address.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <unordered_set>

#include "fluxwatch/common/address_scope.h"

namespace fluxwatch {
namespace {

IpAddress ip(std::string_view text) {
  const auto address = IpAddress::parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

TEST(IpAddress, ParsesAndFormatsIpv4) {
  const auto address = ip("192.0.2.255");
  EXPECT_TRUE(address.is_v4());
  EXPECT_EQ(address.family(), IpAddress::Family::V4);
  EXPECT_EQ(address.bit_length(), 32U);
  EXPECT_EQ(address.to_string(), "192.0.2.255");
  ASSERT_EQ(address.bytes().size(), 4U);
  EXPECT_EQ(address.bytes()[0], 192);
  EXPECT_EQ(address.bytes()[3], 255);
  EXPECT_EQ(ip("0.0.0.0").to_string(), "0.0.0.0");
  EXPECT_EQ(ip("10.0.100.9").to_string(), "10.0.100.9");
}

TEST(IpAddress, ParsesIpv6InEveryTextFormAndFormatsCanonically) {
  EXPECT_EQ(ip("2001:DB8:0:0:0:0:0:ABCD").to_string(), "2001:db8::abcd");
  EXPECT_EQ(ip("2001:db8::abcd"), ip("2001:0db8:0000::abcd"));
  EXPECT_EQ(ip("::").to_string(), "::");
  EXPECT_EQ(ip("::1").to_string(), "::1");
  EXPECT_EQ(ip("::1.2.3.4").to_string(), "::1.2.3.4");  // inet_ntop keeps the old compatible form
  const auto address = ip("2001:db8::1");
  EXPECT_TRUE(address.is_v6());
  EXPECT_EQ(address.bit_length(), 128U);
  EXPECT_EQ(address.bytes().size(), 16U);
}

TEST(IpAddress, LoopbackIs127Slash8AndColonColonOneOnly) {
  for (const char* text : {"127.0.0.1", "127.255.255.254", "127.0.0.0", "::1", "::ffff:127.0.0.1",
                           "::FFFF:127.9.8.7"}) {
    EXPECT_TRUE(is_loopback(ip(text))) << text;
  }
  for (const char* text : {"126.255.255.255", "128.0.0.1", "0.0.0.0", "10.127.0.1", "::", "::2",
                           "1::1", "::127.0.0.1", "::ffff:128.0.0.1", "fe80::1", "7f00::1"}) {
    EXPECT_FALSE(is_loopback(ip(text))) << text;
  }
  EXPECT_EQ(ip("::1").family(), IpAddress::Family::V6);
  EXPECT_EQ(ip("::ffff:127.0.0.1").family(), IpAddress::Family::V6);
  EXPECT_EQ(IpAddress{}.family(), IpAddress::Family::V4);
  EXPECT_FALSE(is_loopback(IpAddress{}));  // 0.0.0.0
}

TEST(IpAddress, V4MappedIpv6StaysIpv6UntilUnmapped) {
  const auto mapped = ip("::ffff:81.2.69.160");
  EXPECT_TRUE(mapped.is_v6());
  EXPECT_TRUE(mapped.is_v4_mapped());
  EXPECT_EQ(mapped.to_string(), "::ffff:81.2.69.160");
  EXPECT_NE(mapped, ip("81.2.69.160"));  // different values as stored (inet keeps them apart)
  EXPECT_EQ(mapped.unmapped(), ip("81.2.69.160"));
  EXPECT_EQ(ip("::FFFF:5102:45a0").unmapped(), ip("81.2.69.160"));
  // Not mapped: IPv4-compatible (deprecated) and a plain IPv6 address stay as they are.
  EXPECT_FALSE(ip("::81.2.69.160").is_v4_mapped());
  EXPECT_EQ(ip("::81.2.69.160").unmapped(), ip("::81.2.69.160"));
  EXPECT_FALSE(ip("81.2.69.160").is_v4_mapped());
  EXPECT_EQ(ip("81.2.69.160").unmapped(), ip("81.2.69.160"));
}

TEST(IpAddress, RefusesScopedShorthandAndOtherText) {
  const std::string with_nul("1.2.3.4\0junk", 12);
  for (const std::string& text : {std::string(),
                                  std::string("fe80::1%eth0"),
                                  std::string("fe80::1%1"),
                                  std::string("10.0.0.1/32"),
                                  std::string("2001:db8::/32"),
                                  std::string("[::1]"),
                                  std::string("1.2.3.4:53"),
                                  std::string(" 1.2.3.4"),
                                  std::string("1.2.3.4 "),
                                  std::string("1.2.3"),
                                  std::string("1.2.3.4.5"),
                                  std::string("1.2.3.256"),
                                  std::string("01.2.3.4"),
                                  std::string("1..3.4"),
                                  std::string("127.1"),
                                  std::string("0x7f000001"),
                                  std::string("2130706433"),
                                  std::string("::ffff:1.2.3.4.5"),
                                  std::string("2001:db8::1::1"),
                                  std::string("2001:db8:0:0:0:0:0:0:1"),
                                  std::string("example.com"),
                                  std::string(1000, '1'),
                                  std::string(100, ':'),
                                  with_nul}) {
    EXPECT_FALSE(IpAddress::parse(text).has_value()) << text;
  }
}

TEST(IpAddress, FromRdataBytes) {
  const std::array<std::uint8_t, 4> a{198, 51, 100, 7};
  EXPECT_EQ(IpAddress::v4(a), ip("198.51.100.7"));
  std::array<std::uint8_t, 16> aaaa{0x20, 0x01, 0x0d, 0xb8};
  aaaa[15] = 1;
  EXPECT_EQ(IpAddress::v6(aaaa), ip("2001:db8::1"));
  EXPECT_EQ(IpAddress::from_bytes(a), ip("198.51.100.7"));
  EXPECT_EQ(IpAddress::from_bytes(aaaa), ip("2001:db8::1"));
  EXPECT_FALSE(IpAddress::from_bytes(std::span(aaaa).first(5)).has_value());
  EXPECT_FALSE(IpAddress::from_bytes({}).has_value());
}

TEST(IpAddress, ComparesIpv4BeforeIpv6ThenNumerically) {
  EXPECT_LT(ip("9.0.0.1"), ip("10.0.0.1"));  // numeric, not text order
  EXPECT_LT(ip("255.255.255.255"), ip("::"));
  EXPECT_LT(ip("2001:db8::1"), ip("2001:db8::2"));
  // 0.0.0.0 and :: have the same (zero) bytes but are different addresses.
  EXPECT_NE(ip("0.0.0.0"), ip("::"));
  EXPECT_EQ(IpAddress{}, ip("0.0.0.0"));
}

TEST(IpAddress, HashesEqualAddressesAlikeAndKeepsFamiliesApart) {
  std::unordered_set<IpAddress> set;
  set.insert(ip("10.0.0.1"));
  set.insert(ip("10.0.0.1"));
  set.insert(ip("2001:db8::1"));
  set.insert(ip("2001:DB8:0::1"));
  set.insert(ip("0.0.0.0"));
  set.insert(ip("::"));
  EXPECT_EQ(set.size(), 4U);
  EXPECT_TRUE(set.contains(ip("2001:0db8::0001")));
}

TEST(IpAddress, NetworkKeepsTheFirstBits) {
  EXPECT_EQ(ip("10.1.2.3").network(24).to_string(), "10.1.2.0");
  EXPECT_EQ(ip("10.1.2.3").network(16).to_string(), "10.1.0.0");
  EXPECT_EQ(ip("10.1.255.3").network(20).to_string(), "10.1.240.0");
  EXPECT_EQ(ip("10.1.2.3").network(0).to_string(), "0.0.0.0");
  EXPECT_EQ(ip("10.1.2.3").network(32), ip("10.1.2.3"));
  EXPECT_EQ(ip("10.1.2.3").network(200), ip("10.1.2.3"));
  EXPECT_EQ(ip("2001:db8:abcd:12::1").network(32).to_string(), "2001:db8::");
  EXPECT_EQ(ip("2001:db8:abcd:12::1").network(48).to_string(), "2001:db8:abcd::");
  EXPECT_TRUE(ip("2001:db8::1").network(32).is_v6());
}

TEST(IpAddress, TextRoundTrips) {
  for (const char* text : {"1.2.3.4", "255.255.255.255", "2001:db8::1", "::ffff:1.2.3.4",
                           "::", "fe80::1:2:3:4", "2001:db8:1:2:3:4:5:6"}) {
    EXPECT_EQ(ip(text).to_string(), text);
    EXPECT_EQ(IpAddress::parse(ip(text).to_string()), ip(text));
  }
  std::string out = "x=";
  ip("10.0.0.1").append_to(out);
  EXPECT_EQ(out, "x=10.0.0.1");
}

}  // namespace
}  // namespace fluxwatch
