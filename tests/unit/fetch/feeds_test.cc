// Pure parts of fluxwatch::fetch: feed formats, gzip, URL redaction, the fetch-related
// configuration sections and the GeoIP download plan. No network, no database.
#include "fluxwatch/fetch/feeds.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "fluxwatch/common/error.h"
#include "fluxwatch/config/config.h"
#include "fluxwatch/fetch/geo_update.h"
#include "fluxwatch/fetch/http_client.h"

namespace fluxwatch::fetch {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> domains(const watchlist::ParseResult& result) {
  std::vector<std::string> out;
  for (const auto& entry : result.entries) {
    out.push_back(entry.domain);
  }
  return out;
}

std::string gzip(const std::string& data) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, data.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

TEST(FeedParseTest, PlainUsesTheWatchlistParser) {
  const auto result =
      parse_feed("# c\nA.test\nhttp://b.test/x\nbad domain\n", FeedFormat::Plain, "", 1 << 20);
  EXPECT_EQ(domains(result), (std::vector<std::string>{"a.test", "b.test"}));
  ASSERT_EQ(result.problems.size(), 1U);
  EXPECT_EQ(result.problems[0].line, 4U);
}

TEST(FeedParseTest, CsvColumnByName) {
  const auto result =
      parse_feed("ts,Host,x\n1,a.test,\"q,r\"\n2,\"b.test\"\n3\n4,c.test#x\n5,domain\n",
                 FeedFormat::Csv, "host", 1 << 20);
  EXPECT_EQ(domains(result), (std::vector<std::string>{"a.test", "b.test"}));
  ASSERT_EQ(result.problems.size(), 3U);
  EXPECT_EQ(result.problems[0].line, 4U);
  EXPECT_EQ(result.problems[0].text, "3");
  EXPECT_EQ(result.problems[1].line, 5U);
  EXPECT_EQ(result.problems[2].line, 6U);
  EXPECT_THROW((void)parse_feed("a,b\n1,2\n", FeedFormat::Csv, "host", 1 << 20), Error);
}

TEST(FeedParseTest, JsonLinesField) {
  const auto result = parse_feed(
      "{\"d\":\"a.test\"}\n\n[1]\n{\"d\":\"a,b.test\"}\n{\"d\":\"ex\u00e4mple.test\"}\n{",
      FeedFormat::JsonLines, "d", 1 << 20);
  EXPECT_EQ(domains(result), (std::vector<std::string>{"a.test", "xn--exmple-cua.test"}));
  ASSERT_EQ(result.problems.size(), 3U);
  EXPECT_EQ(result.problems[0].line, 3U);
  EXPECT_EQ(result.problems[1].line, 4U);
  EXPECT_EQ(result.problems[2].line, 6U);
}

TEST(FeedParseTest, GzipContentIsDecompressedWithinTheLimit) {
  const auto packed = gzip("a.test\nb.test\n");
  EXPECT_EQ(domains(parse_feed(packed, FeedFormat::Plain, "", 100)).size(), 2U);
  const auto bomb = gzip(std::string(100000, 'a'));
  EXPECT_THROW((void)parse_feed(bomb, FeedFormat::Plain, "", 1000), Error);
  EXPECT_THROW((void)gunzip(packed.substr(0, packed.size() / 2), 100), Error);
}

TEST(FeedParseTest, FormatNames) {
  EXPECT_EQ(parse_feed_format("jsonl"), FeedFormat::JsonLines);
  EXPECT_EQ(parse_feed_format("xml"), std::nullopt);
  EXPECT_EQ(feed_format_name(FeedFormat::Csv), "csv");
}

TEST(RedactTest, Credentials) {
  EXPECT_EQ(redact_url("https://a:b@h.example/p"), "https://h.example/p");
  EXPECT_EQ(redact_url("https://h.example/p?k=v"), "https://h.example/p?k=...");
}

TEST(FetchConfigTest, ParsesTheNewSections) {
  const auto config = config::parse_config(
      "feeds:\n"
      "  - url: https://feeds.example/list.csv\n"
      "    format: csv\n"
      "    column: host\n"
      "    tag: abuse\n"
      "    refresh_minutes: 30\n"
      "  - url: file:///tmp/x.txt\n"
      "fetch:\n  retries: 1\n  verify_tls: true\n  max_feed_bytes: 1000\n"
      "geoip:\n  asn_database: /tmp/a.mmdb\n  update:\n    account_id: '42'\n"
      "    license_key: k\n    edition_ids: [GeoLite2-ASN]\n"
      "http_probe:\n  enabled: true\n  rate_per_second: 5\n  max_body_bytes: 1024\n",
      "t.yaml");
  ASSERT_EQ(config.feeds.size(), 2U);
  EXPECT_EQ(config.feeds[0].format, "csv");
  EXPECT_EQ(config.feeds[0].column, "host");
  EXPECT_EQ(config.feeds[0].refresh_interval, std::chrono::minutes(30));
  EXPECT_EQ(config.feeds[1].format, "plain");
  EXPECT_EQ(config.fetch.retries, 1);
  EXPECT_EQ(config.fetch.max_feed_bytes, 1000U);
  EXPECT_TRUE(config.http_probe.enabled);
  EXPECT_EQ(config.http_probe.rate_per_second, 5);
  EXPECT_EQ(config.geoip.update.edition_ids, std::vector<std::string>{"GeoLite2-ASN"});
  const auto yaml = config::to_yaml(config);
  EXPECT_THAT(yaml, HasSubstr("license_key: (set)"));
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("license_key: k")));
  EXPECT_EQ(config::parse_config(yaml, "again").feeds, config.feeds);
}

TEST(FetchConfigTest, RejectsUnknownKeysWithLineNumbers) {
  try {
    (void)config::parse_config("feeds:\n  - url: http://x.example/\n    fromat: csv\n", "f.yaml");
    FAIL() << "accepted an unknown key";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("f.yaml:3: feeds.fromat: unknown setting"));
  }
  EXPECT_THROW((void)config::parse_config("feeds:\n  - url: ftp://x/\n", "f"), ConfigError);
  EXPECT_THROW((void)config::parse_config("feeds:\n  - format: csv\n", "f"), ConfigError);
  try {
    (void)config::parse_config("http_probe:\n  enabled: true\n  rate: 5\n", "h.yaml");
    FAIL() << "accepted an unknown key";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("h.yaml:3: http_probe.rate: unknown setting"));
  }
}

TEST(GeoPlanTest, UrlsAndMaxMindEditions) {
  auto config = config::default_config();
  EXPECT_THROW((void)plan_geo_updates(config), ConfigError);
  config.geoip.update.city_url = "https://x.example/city.mmdb.gz";
  EXPECT_THROW((void)plan_geo_updates(config), ConfigError);  // no city_database
  config.geoip.city_database = "/tmp/city.mmdb";
  config.geoip.asn_database = "/tmp/asn.mmdb";
  config.geoip.update.edition_ids = {"GeoLite2-ASN"};
  EXPECT_THROW((void)plan_geo_updates(config), ConfigError);  // no account
  config.geoip.update.account_id = "1";
  config.geoip.update.license_key = "k";
  const auto plan = plan_geo_updates(config);
  ASSERT_EQ(plan.size(), 2U);
  EXPECT_EQ(plan[0].kind, GeoKind::City);
  EXPECT_EQ(plan[1].kind, GeoKind::Asn);
  EXPECT_EQ(plan[1].url,
            "https://download.maxmind.com/geoip/databases/GeoLite2-ASN/download?suffix=tar.gz");
  EXPECT_EQ(plan[1].user, "1");
  config.geoip.update.edition_ids = {"../etc"};
  EXPECT_THROW((void)plan_geo_updates(config), ConfigError);
}

// A failed feed is retried after a short, growing back-off, not a whole refresh interval
// (it used to be "not due yet" for an hour after a failure; issue 16).
TEST(Feeds, FailedFeedBackOffGrowsUpToTheInterval) {
  using std::chrono::seconds;
  EXPECT_EQ(failed_feed_backoff(1, seconds(3600)), seconds(30));
  EXPECT_EQ(failed_feed_backoff(2, seconds(3600)), seconds(60));
  EXPECT_EQ(failed_feed_backoff(4, seconds(3600)), seconds(240));
  EXPECT_EQ(failed_feed_backoff(20, seconds(3600)), seconds(3600));
  EXPECT_EQ(failed_feed_backoff(1, seconds(10)), seconds(10));
}

}  // namespace
}  // namespace fluxwatch::fetch
