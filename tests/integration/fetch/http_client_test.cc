// HttpClient against a real HTTP(S) server on loopback: status handling, retries, limits,
// conditional requests and TLS verification.
#include "fluxwatch/fetch/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loopback_server.h"
#include "support/test_env.h"

namespace fluxwatch::fetch {
namespace {

using ::testing::HasSubstr;
using testing::LoopbackHttpServer;
using testing::TempDir;
using testing::write_file;

FetchOptions quick_options() {
  FetchOptions options;
  options.retries = 2;
  options.retry_backoff = std::chrono::milliseconds(10);
  options.timeout = std::chrono::milliseconds(5000);
  options.max_bytes = 4096;
  return options;
}

class HttpClientTest : public ::testing::Test {
 protected:
  TempDir root_;
  LoopbackHttpServer server_{root_.path()};
};

TEST_F(HttpClientTest, FetchesAndRevalidatesWithTheETag) {
  write_file(root_.path() / "list.txt", "a.test\n");
  HttpClient client(quick_options());
  const auto first = client.get(server_.url("/files/list.txt"));
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(first.http_status, 200);
  EXPECT_EQ(first.body, "a.test\n");
  EXPECT_FALSE(first.validators.etag.empty());
  EXPECT_FALSE(first.validators.last_modified.empty());

  const auto second = client.get(server_.url("/files/list.txt"), first.validators);
  EXPECT_EQ(second.status, FetchResult::Status::NotModified);
  EXPECT_EQ(second.http_status, 304);

  // Only Last-Modified known: If-Modified-Since alone also gives 304.
  const auto third =
      client.get(server_.url("/files/list.txt"), Validators{"", first.validators.last_modified});
  EXPECT_EQ(third.status, FetchResult::Status::NotModified);
}

TEST_F(HttpClientTest, RetriesServerErrorsButNotClientErrors) {
  HttpClient client(quick_options());
  const auto failed = client.get(server_.url("/status/500"));
  EXPECT_EQ(failed.status, FetchResult::Status::Failed);
  EXPECT_EQ(failed.http_status, 500);
  EXPECT_EQ(failed.attempts, 3);
  EXPECT_EQ(client.get(server_.url("/hits?path=/status/500")).body, "3");

  const auto missing = client.get(server_.url("/status/404"));
  EXPECT_EQ(missing.status, FetchResult::Status::Failed);
  EXPECT_EQ(missing.attempts, 1);
  EXPECT_THAT(missing.error, HasSubstr("404"));
}

TEST_F(HttpClientTest, DecodesGzipAndFollowsRedirects) {
  write_file(root_.path() / "list.txt", "b.test\nc.test\n");
  HttpClient client(quick_options());
  const auto gz = client.get(server_.url("/gzip/list.txt"));
  ASSERT_TRUE(gz.ok()) << gz.error;
  EXPECT_EQ(gz.body, "b.test\nc.test\n");
  const auto moved = client.get(server_.url("/redirect/list.txt"));
  ASSERT_TRUE(moved.ok()) << moved.error;
  EXPECT_EQ(moved.body, "b.test\nc.test\n");
  EXPECT_THAT(moved.effective_url, HasSubstr("/files/list.txt"));
}

TEST_F(HttpClientTest, RefusesOversizedAndTruncatedBodies) {
  write_file(root_.path() / "big.txt", std::string(10000, 'x'));
  write_file(root_.path() / "cut.txt", "d.test\n");
  write_file(root_.path() / "cut.txt.truncate", "");
  HttpClient client(quick_options());
  const auto big = client.get(server_.url("/files/big.txt"));
  EXPECT_EQ(big.status, FetchResult::Status::Failed);
  EXPECT_THAT(big.error, HasSubstr("larger than the limit of 4096 bytes"));
  EXPECT_EQ(big.attempts, 1);  // not transient: no retry
  const auto cut = client.get(server_.url("/files/cut.txt"));
  EXPECT_EQ(cut.status, FetchResult::Status::Failed);
  EXPECT_EQ(cut.attempts, 3);  // transient: retried
  EXPECT_TRUE(cut.body.empty());
}

TEST_F(HttpClientTest, ReadsFileUrlsButNeverRedirectsToThem) {
  write_file(root_.path() / "local.txt", "e.test\n");
  HttpClient client(quick_options());
  const auto local = client.get("file://" + (root_.path() / "local.txt").string());
  ASSERT_TRUE(local.ok()) << local.error;
  EXPECT_EQ(local.body, "e.test\n");
  EXPECT_EQ(client.get("ftp://127.0.0.1/x").status, FetchResult::Status::Failed);
}

TEST(HttpClientTlsTest, VerifiesCertificatesByDefault) {
  TempDir dir;
  const auto pem = dir.path() / "server.pem";
  const auto made = testing::run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", pem.string(), "-out",
       (dir.path() / "cert.pem").string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  write_file(pem, testing::read_file(pem) + testing::read_file(dir.path() / "cert.pem"));
  write_file(dir.path() / "list.txt", "f.test\n");
  LoopbackHttpServer server(dir.path(), {"127.0.0.1"}, pem.string());

  HttpClient strict(quick_options());
  const auto refused = strict.get(server.url("/files/list.txt"));
  EXPECT_EQ(refused.status, FetchResult::Status::Failed);
  EXPECT_EQ(refused.attempts, 1);
  EXPECT_THAT(refused.error, HasSubstr("certificate"));

  auto options = quick_options();
  options.ca_file = (dir.path() / "cert.pem").string();
  HttpClient trusting(options);
  const auto fetched = trusting.get(server.url("/files/list.txt"));
  ASSERT_TRUE(fetched.ok()) << fetched.error;
  EXPECT_EQ(fetched.body, "f.test\n");
}

TEST(RedactUrlTest, DropsCredentialsAndQueryValues) {
  EXPECT_EQ(redact_url("https://u:pw@example.org/a?license_key=k&x=1"),
            "https://example.org/a?license_key=...&x=...");
  EXPECT_EQ(redact_url("http://example.org/list.txt"), "http://example.org/list.txt");
}

}  // namespace
}  // namespace fluxwatch::fetch
