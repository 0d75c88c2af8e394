#include "fluxwatch/common/domain_name.h"

#include <gtest/gtest.h>

#include <string>

namespace fluxwatch {
namespace {

std::string ok(std::string_view input) {
  auto result = normalise_domain(input);
  if (auto* error = std::get_if<NameError>(&result)) {
    ADD_FAILURE() << "'" << input << "' rejected: " << error->message;
    return {};
  }
  return std::get<std::string>(result);
}

std::string rejected(std::string_view input) {
  auto result = normalise_domain(input);
  if (auto* name = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << "'" << input << "' accepted as " << *name;
    return {};
  }
  return std::get<NameError>(result).message;
}

TEST(NormaliseDomain, LowerCasesAndDropsTrailingDot) {
  EXPECT_EQ(ok("Flux-Alpha.TEST."), "flux-alpha.test");
  EXPECT_EQ(ok("  www.example.com \r\n"), "www.example.com");
  EXPECT_EQ(ok("_dmarc.example.com"), "_dmarc.example.com");
}

TEST(NormaliseDomain, EncodesInternationalNamesWithIdna) {
  EXPECT_EQ(ok("bücher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(ok("BÜCHER.example"), "xn--bcher-kva.example");  // UTS#46 maps case
  EXPECT_EQ(ok("пример.рф"), "xn--e1afmkfd.xn--p1ai");
}

TEST(NormaliseDomain, RejectsWhatIsNotAHostName) {
  EXPECT_NE(rejected("").find("empty"), std::string::npos);
  EXPECT_NE(rejected("a..b").find("empty label"), std::string::npos);
  EXPECT_NE(rejected(".example.com").find("empty label"), std::string::npos);
  EXPECT_NE(rejected("exa mple.com").find("' '"), std::string::npos);
  EXPECT_NE(rejected("ex;ample.com").find("';'"), std::string::npos);
  EXPECT_NE(rejected("-bad.example").find("'-'"), std::string::npos);
  EXPECT_NE(rejected("localhost").find("no dot"), std::string::npos);
  EXPECT_NE(rejected("192.168.1.1").find("IP address"), std::string::npos);
  EXPECT_NE(rejected(std::string("a\0b.com", 7)).find("NUL"), std::string::npos);
  EXPECT_NE(rejected("evil'); DROP TABLE x;--.com").find("not allowed"), std::string::npos);
}

TEST(NormaliseDomain, EnforcesLengthLimits) {
  const std::string label63(63, 'a');
  EXPECT_EQ(ok(label63 + ".com"), label63 + ".com");
  EXPECT_NE(rejected(std::string(64, 'a') + ".com").find("limit is 63"), std::string::npos);
  std::string name;
  while (name.size() < 250) {
    name += "abcdefghi.";
  }
  name += "com";  // 253 characters is fine, 254 is not
  name = name.substr(name.size() - 253);
  if (name.front() == '.') {
    name[0] = 'x';
  }
  EXPECT_EQ(ok(name), name);
  EXPECT_NE(rejected("a" + name).find("limit is 253"), std::string::npos);
}

}  // namespace
}  // namespace fluxwatch
