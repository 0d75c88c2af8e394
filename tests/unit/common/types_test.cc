#include "fluxwatch/common/types.h"

#include <gtest/gtest.h>

namespace fluxwatch {
namespace {

TEST(Types, OutcomeNamesRoundTrip) {
  for (auto outcome : {Outcome::NoError, Outcome::NoData, Outcome::NxDomain, Outcome::ServFail,
                       Outcome::Refused, Outcome::FormErr, Outcome::OtherRcode, Outcome::Timeout,
                       Outcome::ConnRefused, Outcome::Malformed, Outcome::NetError}) {
    EXPECT_EQ(parse_outcome(outcome_name(outcome)), outcome) << outcome_name(outcome);
  }
  EXPECT_EQ(outcome_name(Outcome::NxDomain), "NXDOMAIN");
  EXPECT_FALSE(parse_outcome("nxdomain").has_value());
}

TEST(Types, SectionNamesRoundTrip) {
  for (const Section section : {Section::Answer, Section::Authority, Section::Additional}) {
    EXPECT_EQ(parse_section(section_name(section)), section) << section_name(section);
  }
  EXPECT_EQ(section_name(Section::Authority), "authority");
  EXPECT_FALSE(parse_section("Answer").has_value());
  EXPECT_FALSE(parse_section("").has_value());
}

TEST(Types, RrTypeNames) {
  EXPECT_EQ(rrtype_name(1), "A");
  EXPECT_EQ(rrtype_name(28), "AAAA");
  EXPECT_EQ(rrtype_name(15), "MX");
  EXPECT_EQ(rrtype_name(65280), "TYPE65280");
  EXPECT_EQ(parse_rrtype("aaaa"), RrType::AAAA);
  EXPECT_EQ(parse_rrtype("Cname"), RrType::CNAME);
}

// Every record type by name (ldns's table) or as TYPE<n>; meta types refused.
TEST(Types, EveryRecordTypeParses) {
  EXPECT_EQ(parse_rrtype("MX"), static_cast<RrType>(15));
  EXPECT_EQ(parse_rrtype("txt"), static_cast<RrType>(16));
  EXPECT_EQ(parse_rrtype("PTR"), static_cast<RrType>(12));
  EXPECT_EQ(parse_rrtype("SRV"), static_cast<RrType>(33));
  EXPECT_EQ(parse_rrtype("CAA"), static_cast<RrType>(257));
  EXPECT_EQ(parse_rrtype("DS"), static_cast<RrType>(43));
  EXPECT_EQ(parse_rrtype("dnskey"), static_cast<RrType>(48));
  EXPECT_EQ(parse_rrtype("TYPE65280"), static_cast<RrType>(65280));
  EXPECT_EQ(parse_rrtype("type99"), static_cast<RrType>(99));
  EXPECT_EQ(rrtype_name(257), "CAA");
  EXPECT_EQ(rrtype_name(48), "DNSKEY");
  for (const char* bad :
       {"MXX", "TYPE", "TYPE0", "TYPE65536", "TYPE1x", "OPT", "AXFR", "", "TSIG"}) {
    EXPECT_FALSE(parse_rrtype(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace fluxwatch
