#include "fluxwatch/watchlist/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace fluxwatch::watchlist {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ParseResult parse_text(const std::string& text) {
  std::istringstream in(text);
  return parse(in);
}

TEST(WatchlistParser, PlainListWithCommentsAndBlankLines) {
  const auto result = parse_text(
      "# lab watchlist\n"
      "\n"
      "Flux-Alpha.TEST.\n"
      "  www.flux-alpha.test   # trailing comment\n"
      "benign-news.test\r\n");
  ASSERT_EQ(result.entries.size(), 3U);
  EXPECT_EQ(result.entries[0], (Entry{"flux-alpha.test", {}, 3}));
  EXPECT_EQ(result.entries[1], (Entry{"www.flux-alpha.test", {}, 4}));
  EXPECT_EQ(result.entries[2], (Entry{"benign-news.test", {}, 5}));
  EXPECT_TRUE(result.problems.empty());
  EXPECT_EQ(result.lines, 5U);
}

TEST(WatchlistParser, BadLinesAreReportedWithNumbersAndTheRestIsKept) {
  const auto result = parse_text(
      "good-one.test\n"
      "not a domain\n"
      "localhost\n"
      "good-two.test\n"
      "bad..dots.test\n" +
      std::string(5000, 'x') +
      "\n"
      "good-three.test\n");
  ASSERT_EQ(result.entries.size(), 3U);
  EXPECT_EQ(result.entries[2].domain, "good-three.test");
  EXPECT_EQ(result.entries[2].line, 7U);
  ASSERT_EQ(result.problems.size(), 4U);
  EXPECT_EQ(result.problems[0].line, 2U);
  EXPECT_THAT(result.problems[0].message, HasSubstr("' '"));
  EXPECT_EQ(result.problems[1].line, 3U);
  EXPECT_EQ(result.problems[2].line, 5U);
  EXPECT_EQ(result.problems[3].line, 6U);
  EXPECT_THAT(result.problems[3].message, HasSubstr("longer than"));
  EXPECT_LE(result.problems[3].text.size(), 200U);
}

TEST(WatchlistParser, CsvWithTagsAndDuplicatesMerged) {
  const auto result = parse_text(
      "flux-alpha.test,flux;lab\n"
      "FLUX-ALPHA.test,phishing|flux\n"
      "benign-news.test,\n");
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_THAT(result.entries[0].tags, ElementsAre("flux", "lab", "phishing"));
  EXPECT_TRUE(result.entries[1].tags.empty());
  EXPECT_EQ(result.duplicates, 1U);
}

TEST(WatchlistParser, CsvHeaderNamesTheColumns) {
  const auto result = parse_text(
      "first_seen,tags,domain\n"
      "2024-01-01,botnet,evil.test\n"
      "2024-01-01,,no-tags.test\n");
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_EQ(result.entries[0].domain, "evil.test");
  EXPECT_THAT(result.entries[0].tags, ElementsAre("botnet"));
  EXPECT_EQ(result.entries[1].domain, "no-tags.test");
  EXPECT_TRUE(result.problems.empty());

  const auto named = parse_text(
      "domain,first_seen,tags\n"
      "evil.test,2024-01-01,botnet;c2\n"
      "\"quoted.test\",2024-01-02,\"x\"\n");
  ASSERT_EQ(named.entries.size(), 2U);
  EXPECT_THAT(named.entries[0].tags, ElementsAre("botnet", "c2"));
  EXPECT_EQ(named.entries[1].domain, "quoted.test");
  EXPECT_THAT(named.entries[1].tags, ElementsAre("x"));
  EXPECT_TRUE(named.problems.empty());
}

TEST(WatchlistParser, UrlsAreReadAsTheirHost) {
  const auto result = parse_text(
      "http://Evil.example/login.php\n"
      "https://user@phish.example:8443/?q=1\n");
  ASSERT_EQ(result.entries.size(), 2U);
  EXPECT_EQ(result.entries[0].domain, "evil.example");
  EXPECT_EQ(result.entries[1].domain, "phish.example");
}

TEST(WatchlistParser, InternationalNamesAreEncoded) {
  const auto result = parse_text(
      "\xEF\xBB\xBF"
      "bücher.example\n");
  ASSERT_EQ(result.entries.size(), 1U);
  EXPECT_EQ(result.entries[0].domain, "xn--bcher-kva.example");
}

// Tags with inner spaces are kept; hostile ones are left off and reported, never dropped
// silently (issue 16).
TEST(WatchlistParser, HostileTagsAreReportedAndSpacedTagsKept) {
  const auto result = parse_text("evil.test,ok;needs review;" + std::string(100, 't') + ";\x01x\n");
  ASSERT_EQ(result.entries.size(), 1U);
  EXPECT_THAT(result.entries[0].tags, ElementsAre("ok", "needs review"));
  ASSERT_EQ(result.tag_problems.size(), 2U);
  EXPECT_EQ(result.tag_problems[0].line, 1U);
  EXPECT_THAT(result.tag_problems[0].message, ::testing::HasSubstr("longer than 64"));
  EXPECT_TRUE(result.problems.empty());
  EXPECT_EQ(tag_error("needs review"), "");
  EXPECT_NE(tag_error(" lead"), "");
  EXPECT_NE(tag_error("a;b"), "");
}

}  // namespace
}  // namespace fluxwatch::watchlist
