// SoaRecord: the seven SOA fields parsed once from the text the crawler stores.
#include "fluxwatch/common/soa_record.h"

#include <gtest/gtest.h>

#include <string>

namespace fluxwatch {
namespace {

TEST(SoaRecord, ParsesTheCrawlersText) {
  const auto soa = SoaRecord::parse("ns1.x.test hostmaster.x.test 2026112001 7200 900 1209600 300");
  ASSERT_TRUE(soa.has_value());
  EXPECT_EQ(soa->mname, "ns1.x.test");
  EXPECT_EQ(soa->rname, "hostmaster.x.test");
  EXPECT_EQ(soa->serial, 2026112001U);
  EXPECT_EQ(soa->refresh, 7200U);
  EXPECT_EQ(soa->retry, 900U);
  EXPECT_EQ(soa->expire, 1209600U);
  EXPECT_EQ(soa->minimum, 300U);
  EXPECT_EQ(soa->to_string(), "ns1.x.test hostmaster.x.test 2026112001 7200 900 1209600 300");
}

TEST(SoaRecord, KeepsTheWholeUnsignedRangeAndTheRootName) {
  // Serial arithmetic (RFC 1982) uses all 32 bits; the root zone's names are empty.
  const auto soa = SoaRecord::parse("  4294967295 0 0 0 0");
  ASSERT_TRUE(soa.has_value());
  EXPECT_EQ(soa->mname, "");
  EXPECT_EQ(soa->rname, "");
  EXPECT_EQ(soa->serial, 4294967295U);
  EXPECT_EQ(SoaRecord::parse(soa->to_string()), soa);
}

TEST(SoaRecord, RefusesAnythingElse) {
  for (const char* text :
       {"", "broken", "a b 1 2 3 4", "a b 1 2 3 4 5 6", "a b 4294967296 1 2 3 4",
        "a b 12345678901 1 2 3 4", "a b -1 1 2 3 4", "a b +1 1 2 3 4", "a b 1 2 3 4 x",
        "a b 0x10 2 3 4 5", "a  b 1 2 3 4 5", "a b 1 2 3 4 5 ", "a b 1 2 3 4 5\n", "\\# 22 0102"}) {
    EXPECT_FALSE(SoaRecord::parse(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace fluxwatch
