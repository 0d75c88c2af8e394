// The crawler parses A/AAAA addresses once, from the RDATA bytes, into ResourceRecord::address
// (beside the text in `data`), on both decoder paths.
#include <gtest/gtest.h>

#include "fluxwatch/crawler/reply.h"
#include "reply_wire.h"

namespace fluxwatch::crawler {
namespace {

using namespace wire;

/// An authoritative NOERROR reply to "flux.test A" with an A, an AAAA (IPv4-mapped), an NS
/// and an MX record in the answer section.
Bytes reply() {
  Message message;
  message.questions = {{"flux.test", kA}};
  message.answer = {Rr{"flux.test", kA, 60, a_rdata("192.0.2.10")},
                    Rr{"flux.test", kAaaa, 60, aaaa_rdata("::ffff:127.0.0.1")},
                    Rr{"flux.test", kNs, 60, name_wire("ns1.flux.test")},
                    Rr{"flux.test", kMx, 60, mx_rdata(10, "mail.flux.test")}};
  return message.wire();
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
