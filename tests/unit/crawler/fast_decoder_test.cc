// Unit tests of the fast decoder (A, AAAA, NS, CNAME and SOA read from the wire),
// each compared with the all-ldns decoder by map_reply_checked.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fluxwatch/crawler/reply.h"
#include "reply_wire.h"

namespace fluxwatch::crawler {
namespace {

using namespace wire;  // NOLINT(google-build-using-namespace): the message builder

TEST(FastDecoder, EscapesAndLowersNamesAsLdnsDoes) {
  Message message;
  message.questions = {{"Odd.Example.TEST", kA}};
  const std::string odd_label{'O', 'd', '.', 'd',    ' ',    '\\',  '"',
                              ';', '(', ')', '\x7f', '\x01', '\xe9'};
  Bytes odd_target{static_cast<std::uint8_t>(odd_label.size())};
  odd_target.insert(odd_target.end(), odd_label.begin(), odd_label.end());
  const Bytes rest = name_wire("Example.TEST");
  odd_target.insert(odd_target.end(), rest.begin(), rest.end());
  message.answer = {{"Odd.Example.TEST", kCname, 60, odd_target}};
  message.authority = {{"Example.TEST", kNs, 3600, odd_target}};
  auto result = asked("odd.example.test");
  map(message, result);
  ASSERT_EQ(result.records.size(), 2U);
  EXPECT_EQ(result.records[0].owner, "odd.example.test");
  EXPECT_EQ(result.records[0].data, "od\\.d\\032\\\\\\\"\\;\\(\\)\\127\\001\\233.example.test");
  EXPECT_EQ(result.records[1].data, result.records[0].data);
}

TEST(FastDecoder, WritesDottedQuadsLikeInetNtop) {
  Message message;
  for (const char* address : {"0.0.0.0", "255.255.255.255", "10.100.9.199", "1.20.100.0"}) {
    message.answer.push_back({"www.example.test", kA, 60, a_rdata(address)});
  }
  auto result = asked("www.example.test");
  map(message, result);
  ASSERT_EQ(result.records.size(), 4U);
  EXPECT_EQ(result.records[0].data, "0.0.0.0");
  EXPECT_EQ(result.records[1].data, "255.255.255.255");
  EXPECT_EQ(result.records[2].data, "10.100.9.199");
  EXPECT_EQ(result.records[3].data, "1.20.100.0");
}

TEST(FastDecoder, PointerIntoTheHeaderIsMalformed) {
  // Found by fuzz/fuzz_dns_reply comparing the decoders: ldns rejects a pointer to offset
  // 0, the fast decoder read the header as a label. No name lives in the header.
  Message message;
  message.questions.clear();
  Bytes wire = message.wire();
  wire[5] = 1;  // QDCOUNT 1: a question whose name points to offset 0
  wire.insert(wire.end(), {0xc0, 0x00, 0x00, 0x01, 0x00, 0x01});
  auto result = asked("www.example.test");
  map_reply_checked(wire, result);
  EXPECT_EQ(result.outcome, Outcome::Malformed);
  EXPECT_NE(result.detail.find("points into the header"), std::string::npos) << result.detail;
}

TEST(FastDecoder, FollowsCompressionInOwnersAndRdata) {
  // www.example.test CNAME cdn.<ptr example.test>; cdn.example.test A 10.1.2.3 with its
  // owner a pointer to the CNAME's target; SOA with both names compressed.
  Message message;
  Bytes wire = message.wire();
  wire[7] = 2;  // ANCOUNT
  wire[9] = 1;  // NSCOUNT
  const auto target_at = static_cast<std::uint8_t>(wire.size() + 12);
  wire.insert(wire.end(),
              {0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0, 0, 1, 0, 0, 6, 3, 'c', 'd', 'n', 0xc0, 0x10});
  wire.insert(wire.end(),
              {0xc0, target_at, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 30, 0, 4, 10, 1, 2, 3});
  wire.insert(wire.end(),
              {0xc0, 0x10, 0x00, 0x06, 0x00, 0x01, 0,    0,    0,         60,
               0,    27,   2,    'n',  's',  0xc0, 0x10, 0xc0, target_at,  // mname, rname
               0,    0,    0,    7,    0,    0,    0,    8,    0,         0,
               0,    9,    0,    0,    0,    10,   0xff, 0xff, 0xff,      0xff});
  auto result = asked("www.example.test");
  map_reply_checked(wire, result);
  ASSERT_EQ(result.records.size(), 3U);
  EXPECT_EQ(result.outcome, Outcome::NoError);
  EXPECT_EQ(result.records[0].data, "cdn.example.test");
  EXPECT_EQ(result.records[1].owner, "cdn.example.test");
  EXPECT_EQ(result.records[1].data, "10.1.2.3");
  EXPECT_EQ(result.records[2].owner, "example.test");
  EXPECT_EQ(result.records[2].data, "ns.example.test cdn.example.test 7 8 9 10 4294967295");
}

TEST(FastDecoder, HandsOddShapesAndOtherTypesToLdns) {
  Message message;
  Bytes long_a = a_rdata("10.0.0.1");
  long_a.push_back(7);  // 5 bytes of A RDATA
  Bytes ns_with_tail = name_wire("ns1.example.test");
  ns_with_tail.push_back(0);  // a byte after the name
  Bytes short_soa = soa_rdata("ns1.example.test", "h.example.test", 1);
  short_soa.resize(short_soa.size() - 4);
  message.answer = {{"www.example.test", kA, 60, long_a},
                    {"www.example.test", kAaaa, 60, aaaa_rdata("2001:db8::1")},
                    {"www.example.test", kMx, 60, mx_rdata(10, "mx.example.test")},
                    {"www.example.test", kTxt, 60, txt_rdata("v=spf1 -all")}};
  message.authority = {{"example.test", kNs, 60, ns_with_tail},
                       {"example.test", kSoa, 60, short_soa}};
  auto result = asked("www.example.test");
  map(message, result);  // agreement with ldns is the assertion; the values are ldns's
  EXPECT_EQ(result.records.size(), 6U);
  EXPECT_EQ(result.records[1].data, "2001:db8::1");
}

TEST(FastDecoder, AgreesWithLdnsOnEveryByteMutation) {
  // Every single-byte change of a reply with compression, every common type and OPT:
  // whatever the outcome, both decoders must tell the same story.
  Message message;
  message.answer = {{"www.example.test", kCname, 60, name_wire("cdn.example.test")},
                    {"cdn.example.test", kA, 60, a_rdata("10.0.0.1")},
                    {"cdn.example.test", kAaaa, 60, aaaa_rdata("2001:db8::2")}};
  message.authority = {{"example.test", kNs, 3600, name_wire("ns1.example.test")}, soa_record()};
  message.additional = {{"ns1.example.test", kA, 3600, a_rdata("10.9.9.9")},
                        {"", kOpt, 0, {}, 1232}};
  const Bytes wire = message.wire();
  std::mt19937 random(20261122);
  for (std::size_t at = 0; at < wire.size(); ++at) {
    for (const std::uint8_t value :
         {std::uint8_t{0}, std::uint8_t{0xc0}, std::uint8_t{0x3f},
          static_cast<std::uint8_t>(random()), static_cast<std::uint8_t>(wire[at] ^ 1U)}) {
      Bytes mutated = wire;
      mutated[at] = value;
      auto result = asked("www.example.test");
      SCOPED_TRACE(testing::Message() << "byte " << at << " = " << int{value});
      map_reply_checked(mutated, result);
    }
  }
}

}  // namespace
}  // namespace fluxwatch::crawler
