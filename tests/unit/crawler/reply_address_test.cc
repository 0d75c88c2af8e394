// The crawler parses A/AAAA addresses once, from the RDATA bytes, into ResourceRecord::address
// (beside the text in `data`), on both decoder paths.
#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "fluxwatch/crawler/reply.h"

namespace fluxwatch::crawler {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8U));
  out.push_back(static_cast<std::uint8_t>(value & 0xffU));
}

void put_name(Bytes& out, std::string_view name) {
  while (!name.empty()) {
    const auto dot = name.find('.');
    const auto label = name.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  out.push_back(0);
}

void put_record(Bytes& out, std::uint16_t type, const Bytes& rdata) {
  put_name(out, "flux.test");
  put16(out, type);
  put16(out, 1);  // IN
  put16(out, 0);
  put16(out, 60);  // TTL
  put16(out, static_cast<std::uint16_t>(rdata.size()));
  out.insert(out.end(), rdata.begin(), rdata.end());
}

/// An authoritative NOERROR reply to "flux.test A" with an A, an AAAA (IPv4-mapped), an NS
/// and an MX record in the answer section.
Bytes reply() {
  Bytes out;
  for (const std::uint16_t word : {0x4242, 0x8400, 1, 4, 0, 0}) {
    put16(out, word);
  }
  put_name(out, "flux.test");
  put16(out, 1);
  put16(out, 1);
  put_record(out, 1, {192, 0, 2, 10});
  put_record(out, 28, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1});
  Bytes ns;
  put_name(ns, "ns1.flux.test");
  put_record(out, 2, ns);
  Bytes mx{0, 10};
  put_name(mx, "mail.flux.test");
  put_record(out, 15, mx);
  return out;
}

TEST(ReplyAddress, AddressRecordsCarryTheParsedAddressOnBothDecoders) {
  for (const ReplyDecoder decoder : {ReplyDecoder::Fast, ReplyDecoder::LdnsOnly}) {
    SCOPED_TRACE(decoder == ReplyDecoder::Fast ? "fast" : "ldns");
    ProbeResult result;
    result.name = "flux.test";
    result.qtype = RrType::A;
    const Bytes wire = reply();
    map_reply(wire, result, decoder);
    ASSERT_EQ(result.outcome, Outcome::NoError) << result.detail;
    ASSERT_EQ(result.records.size(), 4U);
    const auto& a = result.records[0];
    EXPECT_EQ(a.data, "192.0.2.10");
    ASSERT_TRUE(a.address.has_value());
    EXPECT_EQ(*a.address, IpAddress::parse("192.0.2.10"));
    const auto& aaaa = result.records[1];
    EXPECT_EQ(aaaa.data, "::ffff:127.0.0.1");
    ASSERT_TRUE(aaaa.address.has_value());
    EXPECT_TRUE(aaaa.address->is_v6());
    EXPECT_TRUE(aaaa.address->is_v4_mapped());
    EXPECT_EQ(aaaa.address->to_string(), aaaa.data);
    EXPECT_FALSE(result.records[2].address.has_value());  // NS
    EXPECT_EQ(result.records[2].data, "ns1.flux.test");
    EXPECT_FALSE(result.records[3].address.has_value());  // MX
  }
}

}  // namespace
}  // namespace fluxwatch::crawler
