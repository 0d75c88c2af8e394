// Unit tests of scan_message: the structure checks that run before ldns.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fluxwatch/crawler/reply.h"
#include "reply_wire.h"

namespace fluxwatch::crawler {
namespace {

using namespace wire;  // NOLINT(google-build-using-namespace): the message builder

/// A reply with one A answer whose owner is `owner` (raw wire bytes), after the question.
Bytes with_owner(const Bytes& owner, std::uint16_t ancount = 1) {
  Message message;
  Bytes wire = message.wire();
  wire[7] = static_cast<std::uint8_t>(ancount);
  wire.insert(wire.end(), owner.begin(), owner.end());
  wire.insert(wire.end(), {0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1});
  return wire;
}

TEST(ScanMessage, WellFormedReplyHasNoErrorAndEndsAtItsSize) {
  Message message;
  message.answer = {Rr{"www.example.test", kA, 60, a_rdata("10.0.0.1")}};
  message.additional = {Rr{"", kOpt, 0, {}, 1232}};
  const Bytes wire = message.wire();
  const MessageScan scan = scan_message(wire);
  EXPECT_EQ(scan.error, "");
  EXPECT_TRUE(scan.has_opt);
  EXPECT_EQ(scan.end, wire.size());
  message.additional.clear();
  EXPECT_FALSE(scan_message(message.wire()).has_opt);
}

TEST(ScanMessage, BackwardPointersAreFine) {
  const MessageScan scan = scan_message(with_owner({0xc0, 0x0c}));
  EXPECT_EQ(scan.error, "");
}

TEST(ScanMessage, ForwardPointerIsMalformedThoughLdnsWouldFollowIt) {
  // The owner points past itself, to a name placed after the record (as hostile_dns.py's
  // forward-pointer case does).
  Bytes wire = with_owner({0xc0, 0x00});
  const std::size_t owner_at = wire.size() - 16;
  const Bytes name = name_wire("www.example.test");
  const std::size_t target = wire.size();
  wire.insert(wire.end(), name.begin(), name.end());
  wire[owner_at + 1] = static_cast<std::uint8_t>(target);
  const MessageScan scan = scan_message(wire);
  EXPECT_NE(scan.error.find("points forward"), std::string::npos) << scan.error;
  auto result = asked("www.example.test");
  map_reply_checked(wire, result);
  EXPECT_EQ(result.outcome, Outcome::Malformed);
  EXPECT_NE(result.detail.find("points forward"), std::string::npos) << result.detail;
}

TEST(ScanMessage, PointerToItselfAndLoopsAreMalformed) {
  Message message;
  const std::size_t owner_at = message.wire().size();
  const Bytes self = with_owner({0xc0, static_cast<std::uint8_t>(owner_at)});
  EXPECT_NE(scan_message(self).error.find("points to itself"), std::string::npos);
  // "x" then a pointer back to the "x": backward, but a loop; the length limit ends it.
  const Bytes loop = with_owner({0x01, 'x', 0xc0, static_cast<std::uint8_t>(owner_at)});
  EXPECT_FALSE(scan_message(loop).error.empty());
}

TEST(ScanMessage, LongLabelsAndNamesAreMalformed) {
  Bytes label(1, 64);
  label.insert(label.end(), 64, 'x');
  label.push_back(0);
  EXPECT_NE(scan_message(with_owner(label)).error.find("label of 64 bytes"), std::string::npos);
  Bytes name;
  for (int i = 0; i < 5; ++i) {
    name.push_back(63);
    name.insert(name.end(), 63, 'y');
  }
  name.push_back(0);
  EXPECT_NE(scan_message(with_owner(name)).error.find("longer than 255 bytes"), std::string::npos);
  // 255 bytes exactly is allowed: 3 x 64 + 62 + 1.
  Bytes longest;
  for (int i = 0; i < 3; ++i) {
    longest.push_back(63);
    longest.insert(longest.end(), 63, 'z');
  }
  longest.push_back(61);
  longest.insert(longest.end(), 61, 'z');
  longest.push_back(0);
  ASSERT_EQ(longest.size(), 255U);
  EXPECT_EQ(scan_message(with_owner(longest)).error, "");
}

TEST(ScanMessage, NamesInRdataAreChecked) {
  Message message;
  Bytes wire = message.wire();
  wire[7] = 1;
  // CNAME whose target points forward (to offset 0xff, past the end).
  wire.insert(wire.end(), {0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0, 0, 0, 60, 0, 2, 0xc0, 0xff});
  EXPECT_NE(scan_message(wire).error.find("RDATA: compression pointer"), std::string::npos)
      << scan_message(wire).error;
}

TEST(ScanMessage, CountsThatLie) {
  const Bytes more = with_owner({0xc0, 0x0c}, 3);  // ANCOUNT 3, one record present
  EXPECT_NE(scan_message(more).error.find("answer section, record 2 of 3"), std::string::npos)
      << scan_message(more).error;
  auto result = asked("www.example.test");
  map_reply_checked(more, result);
  EXPECT_EQ(result.outcome, Outcome::Malformed);

  Bytes fewer = with_owner({0xc0, 0x0c});  // ANCOUNT 1, a second record after it
  fewer.insert(fewer.end(), {0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0, 4, 10, 0, 0, 2});
  const MessageScan scan = scan_message(fewer);
  EXPECT_EQ(scan.error, "");
  EXPECT_EQ(scan.end, fewer.size() - 16);
  auto kept = asked("www.example.test");
  map_reply_checked(fewer, kept);
  EXPECT_EQ(kept.outcome, Outcome::NoError);
  EXPECT_EQ(kept.records.size(), 1U);
  EXPECT_EQ(kept.detail, "16 bytes after the last of the records the header counts");
}

TEST(ScanMessage, ShortInputIsAnErrorNotACrash) {
  const Bytes wire = Message{}.wire();
  for (std::size_t size = 0; size < wire.size(); ++size) {
    const MessageScan scan = scan_message(std::span(wire.data(), size));
    EXPECT_FALSE(scan.error.empty()) << size;
  }
}

// The fast decoder reads A, AAAA, NS, CNAME and SOA from the wire; these replies exercise
// each of its branches and its hand-overs to ldns, compared by map_reply_checked.

}  // namespace
}  // namespace fluxwatch::crawler
