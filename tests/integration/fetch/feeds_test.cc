// Feed refreshes against a real HTTP server on loopback and a real PostgreSQL: 200, 304,
// gzip, redirect, 500 / truncated / oversized (previous import kept), delisting history,
// csv and jsonl feeds, and `fluxwatch watchlist import URL`.
#include "fluxwatch/fetch/feeds.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <pqxx/pqxx>

#include "fluxwatch/config/config.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/feed_store.h"
#include "loopback_server.h"
#include "support/test_env.h"

namespace fluxwatch::fetch {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Kind = FeedOutcome::Kind;
using testing::write_file;

class FeedsTest : public ::testing::Test {
 protected:
  void SetUp() override { storage::Database(database_.dsn()).migrate(); }

  static FetchOptions options() {
    FetchOptions o;
    o.retries = 1;
    o.retry_backoff = std::chrono::milliseconds(10);
    o.timeout = std::chrono::milliseconds(5000);
    o.max_bytes = 4096;
    return o;
  }

  FeedSpec spec(const std::string& path) const {
    FeedSpec feed;
    feed.url = server_.url(path);
    feed.tags = {"feedtag"};
    feed.refresh_interval = std::chrono::minutes(10);
    return feed;
  }

  /// Domains the feed lists now (open listing periods), sorted.
  std::vector<std::string> listed(const std::string& url) {
    pqxx::connection c(database_.dsn());
    pqxx::read_transaction tx(c);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params(
             "SELECT w.domain FROM watchlist_listing l JOIN watchlist w USING (domain_id) "
             "JOIN feeds f USING (feed_id) WHERE f.url = $1 AND l.delisted_at IS NULL "
             "ORDER BY w.domain",
             url)) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  }

  long scalar(const std::string& sql) {
    pqxx::connection c(database_.dsn());
    pqxx::read_transaction tx(c);
    return tx.exec1(sql)[0].as<long>();
  }

  testing::ScratchDatabase database_;
  testing::TempDir root_;
  testing::LoopbackHttpServer server_{root_.path()};
};

TEST_F(FeedsTest, LifecycleKeepsHistoryAndSurvivesFailures) {
  FeedRefresher refresher(database_.dsn(), options());
  const auto feed = spec("/files/feed.txt");
  write_file(root_.path() / "feed.txt", "a.test\nb.test\nc.test\nnot a domain!\n");

  auto first = refresher.refresh(feed);
  ASSERT_EQ(first.kind, Kind::Imported) << first.error;
  EXPECT_EQ(first.http_status, 200);
  EXPECT_EQ(first.entries, 3U);
  EXPECT_EQ(first.added, 3U);
  ASSERT_EQ(first.problems.size(), 1U);
  EXPECT_EQ(first.problems[0].line, 4U);
  EXPECT_THAT(listed(feed.url), ElementsAre("a.test", "b.test", "c.test"));
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE 'feedtag' = ANY(tags)"), 3);

  // Unchanged: the ETag comes back, the server answers 304, nothing is re-imported.
  const auto same = refresher.refresh(feed);
  EXPECT_EQ(same.kind, Kind::NotModified);
  EXPECT_EQ(same.http_status, 304);
  EXPECT_THAT(listed(feed.url), ElementsAre("a.test", "b.test", "c.test"));

  // A new version drops c and adds d: c is delisted, not deleted.
  write_file(root_.path() / "feed.txt", "a.test\nb.test\nd.test\n");
  const auto second = refresher.refresh(feed);
  ASSERT_EQ(second.kind, Kind::Imported) << second.error;
  EXPECT_EQ(second.new_listings, 1U);
  EXPECT_EQ(second.delisted, 1U);
  EXPECT_THAT(listed(feed.url), ElementsAre("a.test", "b.test", "d.test"));
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist"), 4);
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist_delisted WHERE domain = 'c.test'"), 1);

  // Failures keep the previous import: a 500, a truncated body, an oversized body, an
  // empty version.
  write_file(root_.path() / "feed.txt.status", "500");
  const auto server_error = refresher.refresh(feed);
  EXPECT_EQ(server_error.kind, Kind::Failed);
  EXPECT_EQ(server_error.http_status, 500);
  std::filesystem::remove(root_.path() / "feed.txt.status");

  write_file(root_.path() / "feed.txt", "a.test\nx.test\n");
  write_file(root_.path() / "feed.txt.truncate", "");
  const auto truncated = refresher.refresh(feed);
  EXPECT_EQ(truncated.kind, Kind::Failed);
  std::filesystem::remove(root_.path() / "feed.txt.truncate");

  write_file(root_.path() / "feed.txt", "a.test\n" + std::string(5000, '#') + "\n");
  const auto oversized = refresher.refresh(feed);
  EXPECT_EQ(oversized.kind, Kind::Failed);
  EXPECT_THAT(oversized.error, HasSubstr("larger than the limit"));

  write_file(root_.path() / "feed.txt", "<html>error</html>\n");
  const auto garbage = refresher.refresh(feed);
  EXPECT_EQ(garbage.kind, Kind::Failed);
  EXPECT_THAT(garbage.error, HasSubstr("no valid domain"));

  EXPECT_THAT(listed(feed.url), ElementsAre("a.test", "b.test", "d.test"));
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist WHERE domain = 'x.test'"), 0);
  storage::FeedStore store(database_.dsn());
  const auto states = store.feeds();
  ASSERT_EQ(states.size(), 1U);
  EXPECT_EQ(states[0].consecutive_failures, 4);
  EXPECT_FALSE(states[0].last_error.empty());
  EXPECT_EQ(states[0].entries, 3);

  // c comes back: a second listing period; d leaves.
  write_file(root_.path() / "feed.txt", "a.test\nb.test\nc.test\n");
  const auto back = refresher.refresh(feed);
  ASSERT_EQ(back.kind, Kind::Imported) << back.error;
  EXPECT_THAT(listed(feed.url), ElementsAre("a.test", "b.test", "c.test"));
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist_listing l JOIN watchlist w USING (domain_id) "
                   "WHERE w.domain = 'c.test'"),
            2);
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist_listing WHERE delisted_at IS NOT NULL"), 2);
  EXPECT_EQ(store.feeds()[0].consecutive_failures, 0);
}

TEST_F(FeedsTest, GzipAndRedirectedFeeds) {
  write_file(root_.path() / "list.txt", "g.test\nh.test\n");
  FeedRefresher refresher(database_.dsn(), options());
  const auto gz = refresher.refresh(spec("/gzip/list.txt"));
  ASSERT_EQ(gz.kind, Kind::Imported) << gz.error;
  EXPECT_EQ(gz.entries, 2U);
  const auto moved = refresher.refresh(spec("/redirect/list.txt"));
  ASSERT_EQ(moved.kind, Kind::Imported) << moved.error;
  EXPECT_EQ(moved.entries, 2U);
  EXPECT_EQ(moved.existing, 2U);
}

TEST_F(FeedsTest, CsvAndJsonLinesFeeds) {
  write_file(root_.path() / "feed.csv",
             "first_seen,host,score\n2024-01-01,I.test,5\n2024-01-02,\"j.test\",7\n,,\n");
  write_file(root_.path() / "feed.jsonl",
             "{\"name\": \"k.test\", \"x\": 1}\n{\"name\": 5}\nnot json\n{\"name\": \"l.test\"}\n");
  FeedRefresher refresher(database_.dsn(), options());
  auto csv = spec("/files/feed.csv");
  csv.format = FeedFormat::Csv;
  csv.column = "host";
  const auto from_csv = refresher.refresh(csv);
  ASSERT_EQ(from_csv.kind, Kind::Imported) << from_csv.error;
  EXPECT_THAT(listed(csv.url), ElementsAre("i.test", "j.test"));
  auto jsonl = spec("/files/feed.jsonl");
  jsonl.format = FeedFormat::JsonLines;
  jsonl.column = "name";
  const auto from_jsonl = refresher.refresh(jsonl);
  ASSERT_EQ(from_jsonl.kind, Kind::Imported) << from_jsonl.error;
  EXPECT_THAT(listed(jsonl.url), ElementsAre("k.test", "l.test"));
  EXPECT_EQ(from_jsonl.problems.size(), 2U);
}

TEST_F(FeedsTest, RefreshDueSkipsFeedsInsideTheirInterval) {
  write_file(root_.path() / "list.txt", "m.test\n");
  FeedRefresher refresher(database_.dsn(), options());
  const auto feed = spec("/files/list.txt");
  const auto now = std::chrono::system_clock::now();
  auto first = refresher.refresh_due({feed}, now);
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].kind, Kind::Imported);
  EXPECT_EQ(refresher.refresh_due({feed}, now + std::chrono::minutes(1))[0].kind, Kind::NotDue);
  EXPECT_EQ(refresher.refresh_due({feed}, now + std::chrono::minutes(11))[0].kind,
            Kind::NotModified);
  // A failed feed is retried after a 30 s back-off, not after its whole interval.
  const auto failing = spec("/status/500");
  EXPECT_EQ(refresher.refresh_due({failing}, now)[0].kind, Kind::Failed);
  const auto soon = refresher.refresh_due({failing}, now + std::chrono::seconds(5))[0];
  EXPECT_EQ(soon.kind, Kind::NotDue);
  EXPECT_THAT(soon.detail, HasSubstr("failed"));
  EXPECT_EQ(refresher.refresh_due({failing}, now + std::chrono::minutes(1))[0].kind, Kind::Failed);
}

TEST_F(FeedsTest, WatchlistImportUrlThroughTheCli) {
  write_file(root_.path() / "list.txt", "n.test\no.test\n");
  write_file(root_.path() / "hosts.csv", "domain_name,comment\np.test,x\n");
  const auto config = root_.path() / "config.yaml";
  write_file(config, "fetch:\n  retries: 0\n  max_feed_bytes: 4096\n");
  const auto fluxwatch = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{testing::fluxwatch_binary().string(), "--config", config.string(),
                                  "--dsn", database_.dsn()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv);
  };
  auto http = fluxwatch({"watchlist", "import", server_.url("/files/list.txt"), "--tag", "cli"});
  ASSERT_EQ(http.exit_code, 0) << http.out << http.err;
  EXPECT_THAT(http.out, HasSubstr("imported 2 domains"));
  auto again = fluxwatch({"watchlist", "import", server_.url("/files/list.txt")});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("not modified"));
  auto file = fluxwatch({"watchlist", "import", "file://" + (root_.path() / "hosts.csv").string(),
                         "--format", "csv", "--column", "domain_name"});
  ASSERT_EQ(file.exit_code, 0) << file.out << file.err;
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist"), 3);
  auto broken = fluxwatch({"watchlist", "import", server_.url("/status/500")});
  EXPECT_EQ(broken.exit_code, 1);
  // Nothing was ever imported from it: no "previous import", and no feed left behind.
  EXPECT_THAT(broken.err, HasSubstr("nothing was imported from it"));
  EXPECT_THAT(broken.err, Not(HasSubstr("previous import")));
  auto listing = fluxwatch({"feeds", "list"});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_THAT(listing.out, HasSubstr("/files/list.txt"));
  EXPECT_THAT(listing.out, Not(HasSubstr("/status/500")));
}

/// Relations in public the reader role may SELECT from, and how many of their rows contain
/// `text` anywhere (every column, through the row's text form), read as that role.
std::map<std::string, long> rows_containing_as_reader(const std::string& dsn,
                                                      const std::string& text) {
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  tx.exec("SET ROLE fluxwatch_reader");
  std::map<std::string, long> found;
  for (const auto& relation :
       tx.exec("SELECT quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n "
               "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN "
               "('r', 'v', 'm', 'p') AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1")) {
    const auto name = relation[0].as<std::string>();
    found[name] = tx.exec_params1(fmt::format("SELECT count(*) FROM {} t WHERE strpos(t::text, "
                                              "$1) > 0",
                                              name),
                                  text)[0]
                      .as<long>();
  }
  return found;
}

long total(const std::map<std::string, long>& counts) {
  long sum = 0;
  for (const auto& [relation, count] : counts) {
    sum += count;
  }
  return sum;
}

TEST_F(FeedsTest, NoSecretFromTheConfigIsInAnyTableTheReaderCanSee) {
  write_file(root_.path() / "list.txt", "q.test\nr.test\n");
  write_file(root_.path() / "cli.txt", "s.test\n");
  // The secrets, as they would be configured: URL userinfo, query tokens, a DSN password
  // and a MaxMind licence key.
  const std::vector<std::string> secrets{"feed-user-1", "Pw-s3cret-2",  "Tk-s3cret-3", "cli-user-4",
                                         "Tk-s3cret-5", "Dsn-s3cret-6", "Lic-s3cret-7"};
  const auto with_secrets = [&](const std::string& path, const std::string& user,
                                const std::string& password, const std::string& token) {
    const auto url = server_.url(path);  // http://127.0.0.1:PORT/...
    return "http://" + user + ":" + password + "@" + url.substr(std::string("http://").size()) +
           "?token=" + token + "&list=all";
  };
  config::Config config = config::default_config();
  config.database.dsn = "postgresql://fluxwatch:Dsn-s3cret-6@127.0.0.1:1/fluxwatch";
  config.geoip.update.license_key = "Lic-s3cret-7";
  FeedSpec feed = spec("/files/list.txt");
  feed.url = with_secrets("/files/list.txt", "feed-user-1", "Pw-s3cret-2", "Tk-s3cret-3");
  {  // a configured feed, fetched twice (the second a 304 through the stored state)
    FeedRefresher refresher(database_.dsn(), options());
    ASSERT_EQ(refresher.refresh(feed).kind, Kind::Imported);
    EXPECT_EQ(refresher.refresh_due({feed}, std::chrono::system_clock::now())[0].kind,
              Kind::NotDue);  // found again by its configured URL
    storage::Database(database_.dsn()).begin_run("probe", config::to_json(config));
  }
  // A one-off import through the command line.
  const auto cli_url = with_secrets("/files/cli.txt", "cli-user-4", "x", "Tk-s3cret-5");
  const auto imported = testing::run_command({testing::fluxwatch_binary().string(), "--dsn",
                                              database_.dsn(), "watchlist", "import", cli_url});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  EXPECT_EQ(scalar("SELECT count(*) FROM watchlist"), 3);

  for (const auto& secret : secrets) {
    const auto counts = rows_containing_as_reader(database_.dsn(), secret);
    EXPECT_EQ(total(counts), 0) << secret << " is readable by fluxwatch_reader";
    for (const auto& [relation, count] : counts) {
      EXPECT_EQ(count, 0) << secret << " in " << relation;
    }
  }
  // The search does find what is stored: the feeds, redacted, and the relations it covers.
  const auto redacted = rows_containing_as_reader(database_.dsn(), "/files/list.txt?token=...");
  EXPECT_GE(redacted.at("feeds"), 1);
  EXPECT_GE(rows_containing_as_reader(database_.dsn(), "/files/cli.txt?token=...").at("feeds"), 1);
  EXPECT_GE(redacted.size(), 10U);  // tables and views, not just one
  {                                 // the salt of the digests is kept from the reader
    pqxx::connection c(database_.dsn());
    pqxx::work tx(c);
    tx.exec("SET ROLE fluxwatch_reader");
    EXPECT_THROW(tx.exec("SELECT salt FROM fluxwatch_private.feed_url_salt"),
                 pqxx::insufficient_privilege);
  }
  EXPECT_EQ(listed(redact_url(feed.url)), (std::vector<std::string>{"q.test", "r.test"}));
}

}  // namespace
}  // namespace fluxwatch::fetch
