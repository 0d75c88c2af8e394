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

TEST(Types, RrTypeNames) {
  EXPECT_EQ(rrtype_name(1), "A");
  EXPECT_EQ(rrtype_name(28), "AAAA");
  EXPECT_EQ(rrtype_name(15), "MX");
  EXPECT_EQ(rrtype_name(65280), "TYPE65280");
  EXPECT_EQ(parse_rrtype("aaaa"), RrType::AAAA);
  EXPECT_EQ(parse_rrtype("Cname"), RrType::CNAME);
  EXPECT_FALSE(parse_rrtype("MX").has_value());
}

}  // namespace
}  // namespace fluxwatch
