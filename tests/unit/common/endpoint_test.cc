#include "fluxwatch/common/endpoint.h"

#include <gtest/gtest.h>

namespace fluxwatch {
namespace {

TEST(Endpoint, ParsesIpv4AndIpv6WithAndWithoutPort) {
  EXPECT_EQ(parse_endpoint("127.0.0.1"), (Endpoint{"127.0.0.1", 53}));
  EXPECT_EQ(parse_endpoint("127.0.0.1:5300"), (Endpoint{"127.0.0.1", 5300}));
  EXPECT_EQ(parse_endpoint("::1"), (Endpoint{"::1", 53}));
  EXPECT_EQ(parse_endpoint("[::1]:5300"), (Endpoint{"::1", 5300}));
  EXPECT_EQ(parse_endpoint("[2001:db8::1]"), (Endpoint{"2001:db8::1", 53}));
}

TEST(Endpoint, RejectsBadInput) {
  for (const char* bad : {"", "localhost", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "[::1",
                          "[::1]x", "1.2.3:53", "[1.2.3.4]:53"}) {
    EXPECT_FALSE(parse_endpoint(bad).has_value()) << bad;
  }
}

TEST(Endpoint, FormatsBackToText) {
  EXPECT_EQ((Endpoint{"127.0.0.1", 5300}).to_string(), "127.0.0.1:5300");
  EXPECT_EQ((Endpoint{"::1", 53}).to_string(), "[::1]:53");
}

}  // namespace
}  // namespace fluxwatch
