// `fluxwatch serve`'s HTTP layer (web/src/server.cc) in-process on a loopback port: listen
// address rules, the token, the security headers and the static files. The database behind
// it is unreachable on purpose: pages then answer 500 without leaking the error.
#include "fluxwatch/web/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <thread>

#include "fluxwatch/common/error.h"
#include "fluxwatch/web/queries.h"

namespace fluxwatch::web {
namespace {

using ::testing::HasSubstr;

TEST(ListenAddress, ParsesHostAndPort) {
  const auto v4 = parse_listen("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  const auto v6 = parse_listen("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_FALSE(parse_listen("127.0.0.1"));
  EXPECT_FALSE(parse_listen("::1:80"));
  EXPECT_FALSE(parse_listen("host:99999"));
  EXPECT_FALSE(parse_listen("host:8o"));
  EXPECT_FALSE(parse_listen(":80"));
}

TEST(ListenAddress, LoopbackOnly) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.5.6.7"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("::"));
  EXPECT_FALSE(is_loopback("10.1.2.3"));
  EXPECT_FALSE(is_loopback("128.0.0.1"));
  EXPECT_FALSE(is_loopback("example.org"));
  EXPECT_TRUE(is_loopback("::ffff:127.0.0.1"));  // mapped: the same loopback socket
  EXPECT_FALSE(is_loopback("127.1"));            // shorthand is no address (IpAddress::parse)
  EXPECT_FALSE(is_loopback("127.0.0.1:80"));
  EXPECT_FALSE(is_loopback("[::1]"));
}

// The address page's parameter: any spelling of an address, shown in canonical text.
TEST(AddressPage, CanonicalAddressIsIpAddressText) {
  EXPECT_EQ(canonical_address("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(canonical_address("2001:DB8:0::0:1"), "2001:db8::1");
  EXPECT_EQ(canonical_address("::FFFF:81.2.69.160"), "::ffff:81.2.69.160");
  EXPECT_FALSE(canonical_address("192.0.2.007"));
  EXPECT_FALSE(canonical_address("192.0.2.7/32"));
  EXPECT_FALSE(canonical_address("fe80::1%eth0"));
  EXPECT_FALSE(canonical_address("example.test"));
  EXPECT_FALSE(canonical_address(""));
}

TEST(Token, BearerOrBasicPassword) {
  EXPECT_TRUE(authorised("", ""));
  EXPECT_TRUE(authorised("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(authorised("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(authorised("Bearer s3crett", "s3cret"));
  EXPECT_FALSE(authorised("", "s3cret"));
  EXPECT_TRUE(authorised("Basic YW55b25lOnMzY3JldA==", "s3cret"));   // anyone:s3cret
  EXPECT_FALSE(authorised("Basic YW55b25lOnMzY3JldHg=", "s3cret"));  // anyone:s3cretx
  EXPECT_FALSE(authorised("Basic !!!", "s3cret"));
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chart_js_ = ::testing::TempDir() + "/chart-test.js";
    std::ofstream(chart_js_) << "/* Chart.js stand-in for the HTTP layer test */";
  }

  ServeOptions options(const std::string& token = "") const {
    ServeOptions o;
    o.listen = {"127.0.0.1", 0};
    o.token = token;
    o.dsn = "host=/nonexistent-fluxwatch-test connect_timeout=1";
    o.chart_js = chart_js_;
    return o;
  }

  std::string chart_js_;
};

/// Runs a server on a free loopback port for the scope of the object.
struct Running {
  explicit Running(ServeOptions o) : server(std::move(o)), thread([this] { server.run(); }) {}
  ~Running() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const { return httplib::Client("127.0.0.1", server.port()); }
  WebServer server;
  std::thread thread;
};

TEST_F(ServerTest, RefusesANetworkAddressWithoutToken) {
  auto o = options();
  o.listen = {"0.0.0.0", 0};
  EXPECT_THROW(WebServer{o}, ConfigError);
}

TEST_F(ServerTest, RefusesToStartWithoutChartJs) {
  auto o = options();
  o.chart_js = "/nonexistent/chart.min.js";
  try {
    WebServer server(o);
    FAIL() << "started without Chart.js";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("libjs-chart.js"));
  }
}

TEST_F(ServerTest, ServesStaticFilesWithSecurityHeaders) {
  Running running(options());
  auto client = running.client();
  const auto js = client.Get("/static/fluxwatch.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_THAT(js->body, HasSubstr("data-drawn-points"));
  EXPECT_EQ(js->get_header_value("Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_EQ(js->get_header_value("X-Content-Type-Options"), "nosniff");
  const auto chart = client.Get("/static/chart.min.js");
  ASSERT_TRUE(chart);
  EXPECT_THAT(chart->body, HasSubstr("Chart.js stand-in"));
  const auto css = client.Get("/static/fluxwatch.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->get_header_value("Content-Type"), "text/css; charset=utf-8");
  const auto missing = client.Get("/static/nothing.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("Content-Security-Policy"), kContentSecurityPolicy);
}

TEST_F(ServerTest, DatabaseErrorIsA500PageWithoutDetails) {
  Running running(options());
  auto client = running.client();
  const auto page = client.Get("/domain/flux-alpha.test");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 500);
  EXPECT_THAT(page->body, HasSubstr("The database could not answer"));
  EXPECT_THAT(page->body, ::testing::Not(HasSubstr("nonexistent-fluxwatch-test")));
  EXPECT_EQ(page->get_header_value("Content-Security-Policy"), kContentSecurityPolicy);
}

TEST_F(ServerTest, BadWindowIsA400) {
  Running running(options());
  auto client = running.client();
  const auto page = client.Get("/domain/flux-alpha.test?since=%3Cb%3E");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 400);
  EXPECT_THAT(page->body, HasSubstr("since &#39;&lt;b&gt;&#39; is not a time"));
}

TEST_F(ServerTest, TokenIsRequiredOnEveryPath) {
  Running running(options("s3cret"));
  auto client = running.client();
  for (const char* path : {"/", "/healthz", "/static/fluxwatch.js", "/domains.csv"}) {
    const auto denied = client.Get(path);
    ASSERT_TRUE(denied) << path;
    EXPECT_EQ(denied->status, 401) << path;
    EXPECT_THAT(denied->get_header_value("WWW-Authenticate"), HasSubstr("Basic"));
  }
  const auto bearer = client.Get("/healthz", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  client.set_basic_auth("me", "s3cret");
  const auto basic = client.Get("/static/fluxwatch.css");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 200);
}

TEST_F(ServerTest, NetworkAddressWithTokenStarts) {
  auto o = options("s3cret");
  o.listen = {"127.0.0.1", 0};  // binding stays on loopback in tests: the check is the token
  EXPECT_NO_THROW(WebServer{o});
}

}  // namespace
}  // namespace fluxwatch::web
