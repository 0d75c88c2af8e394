// FeedStore: feeds and watchlist_listing (migration 0006_feeds_http).
#include "fluxwatch/storage/feed_store.h"

#include <fmt/format.h>

#include <pqxx/pqxx>
#include <string_view>
#include <tuple>

#include "copy_text.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/redact.h"
#include "fluxwatch/storage/session.h"

namespace fluxwatch::storage {
namespace {

std::optional<TimePoint> optional_time(const pqxx::field& micros) {
  if (micros.is_null()) {
    return std::nullopt;
  }
  return detail::from_unix_micros(micros.as<long long>());
}

std::string text_or_empty(const pqxx::field& field) {
  return field.is_null() ? std::string() : field.as<std::string>();
}

// Timestamps travel as microseconds since the epoch (read) and UTC text (written).
constexpr const char* kFeedColumns = R"sql(
  f.feed_id, f.url, f.format, f.column_name, f.tag, f.refresh_seconds, f.etag, f.last_modified,
  (extract(epoch FROM f.last_attempt_at) * 1000000)::bigint,
  (extract(epoch FROM f.last_success_at) * 1000000)::bigint,
  (extract(epoch FROM f.last_changed_at) * 1000000)::bigint,
  f.last_status, f.last_error, f.consecutive_failures, f.entries,
  (SELECT count(*) FROM watchlist_listing l WHERE l.feed_id = f.feed_id
     AND l.delisted_at IS NULL)
)sql";

/// SQL for the identity of the configured URL in `parameter` (e.g. "$2"): a salted digest,
/// so that the URL's secrets are never stored (migration 0011_feed_url_without_secrets).
std::string url_digest_of(std::string_view parameter) {
  return fmt::format(
      "encode(sha256(convert_to((SELECT salt FROM fluxwatch_private.feed_url_salt) || {}::text, "
      "'UTF8')), 'hex')",
      parameter);
}

FeedState read_feed(const pqxx::row& row) {
  FeedState state;
  state.feed_id = row[0].as<std::int64_t>();
  state.definition.url = row[1].as<std::string>();
  state.definition.format = row[2].as<std::string>();
  state.definition.column = text_or_empty(row[3]);
  state.definition.tag = text_or_empty(row[4]);
  if (!row[5].is_null()) {
    state.definition.refresh_interval = std::chrono::seconds(row[5].as<long long>());
  }
  state.etag = text_or_empty(row[6]);
  state.last_modified = text_or_empty(row[7]);
  state.last_attempt_at = optional_time(row[8]);
  state.last_success_at = optional_time(row[9]);
  state.last_changed_at = optional_time(row[10]);
  state.last_status = row[11].is_null() ? 0 : row[11].as<int>();
  state.last_error = text_or_empty(row[12]);
  state.consecutive_failures = row[13].as<int>();
  if (!row[14].is_null()) {
    state.entries = row[14].as<std::int64_t>();
  }
  state.listed_now = row[15].as<std::int64_t>();
  return state;
}

}  // namespace

struct FeedStore::Impl {
  explicit Impl(const std::string& dsn) : session(dsn, "feeds") {}

  template <typename Body>
  auto run(const char* what, Body&& body) {
    return session.run(what, std::forward<Body>(body));
  }

  Session session;
};

FeedStore::FeedStore(const std::string& dsn) : impl_(std::make_unique<Impl>(dsn)) {}
FeedStore::~FeedStore() = default;
FeedStore::FeedStore(FeedStore&&) noexcept = default;
FeedStore& FeedStore::operator=(FeedStore&&) noexcept = default;

FeedState FeedStore::ensure_feed(const FeedDefinition& definition) {
  return impl_->run("ensure_feed", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const long long refresh =
        definition.refresh_interval ? definition.refresh_interval->count() : -1;
    // Stored without its credentials; identified by a salted digest of the full URL.
    const auto id =
        tx.exec_params1(
              fmt::format(
                  "INSERT INTO feeds (url, url_digest, format, column_name, tag, "
                  "refresh_seconds) "
                  "VALUES ($1, {}, $3, NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, -1)) "
                  "ON CONFLICT (url_digest) DO UPDATE SET url = excluded.url, "
                  "format = excluded.format, column_name = excluded.column_name, "
                  "tag = excluded.tag, refresh_seconds = coalesce(excluded.refresh_seconds, "
                  "feeds.refresh_seconds) RETURNING feed_id",
                  url_digest_of("$2")),
              redact_url(definition.url), definition.url, definition.format, definition.column,
              definition.tag, refresh)[0]
            .as<std::int64_t>();
    auto row = tx.exec_params1(
        fmt::format("SELECT {} FROM feeds f WHERE f.feed_id = $1", kFeedColumns), id);
    auto state = read_feed(row);
    impl_->session.commit(tx);
    return state;
  });
}

std::optional<FeedState> FeedStore::find_feed(const std::string& url) {
  return impl_->run("find_feed", [&](pqxx::connection& c) -> std::optional<FeedState> {
    pqxx::read_transaction tx(c);
    const auto rows = tx.exec_params(fmt::format("SELECT {} FROM feeds f WHERE f.url_digest = {}",
                                                 kFeedColumns, url_digest_of("$1")),
                                     url);
    if (rows.empty()) {
      return std::nullopt;
    }
    return read_feed(rows[0]);
  });
}

std::vector<FeedState> FeedStore::feeds() {
  return impl_->run("feeds", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<FeedState> out;
    for (const auto& row :
         tx.exec(fmt::format("SELECT {} FROM feeds f ORDER BY f.url", kFeedColumns))) {
      out.push_back(read_feed(row));
    }
    return out;
  });
}

bool FeedStore::forget_never_imported(std::int64_t feed_id) {
  return impl_->run("forget_never_imported", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const pqxx::result deleted = tx.exec_params(
        "DELETE FROM feeds f WHERE f.feed_id = $1 AND f.last_success_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM watchlist_listing l WHERE l.feed_id = f.feed_id)",
        feed_id);
    impl_->session.commit(tx);
    return deleted.affected_rows() > 0;
  });
}

void FeedStore::record_failure(std::int64_t feed_id, int http_status, const std::string& error,
                               TimePoint at) {
  impl_->run("record_failure", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "UPDATE feeds SET last_attempt_at = $2::timestamptz, last_status = $3, "
        "last_error = $4, consecutive_failures = consecutive_failures + 1 "
        "WHERE feed_id = $1",
        feed_id, detail::format_timestamp_utc(at), http_status, error);
    impl_->session.commit(tx);
  });
}

void FeedStore::record_not_modified(std::int64_t feed_id, int http_status, TimePoint at) {
  impl_->run("record_not_modified", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto when = detail::format_timestamp_utc(at);
    tx.exec_params(
        "UPDATE feeds SET last_attempt_at = $2::timestamptz, "
        "last_success_at = $2::timestamptz, last_status = $3, last_error = NULL, "
        "consecutive_failures = 0 WHERE feed_id = $1",
        feed_id, when, http_status);
    tx.exec_params(
        "UPDATE watchlist_listing SET last_seen = $2::timestamptz "
        "WHERE feed_id = $1 AND delisted_at IS NULL",
        feed_id, when);
    impl_->session.commit(tx);
  });
}

ListingChange FeedStore::record_version(std::int64_t feed_id,
                                        const std::vector<std::string>& domains,
                                        const std::string& etag, const std::string& last_modified,
                                        int http_status, TimePoint at) {
  return impl_->run("record_version", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto when = detail::format_timestamp_utc(at);
    tx.exec("CREATE TEMP TABLE fw_feed_version (domain text) ON COMMIT DROP");
    {
      pqxx::stream_to stage(tx, "fw_feed_version", std::vector<std::string>{"domain"});
      for (const auto& domain : domains) {
        stage << std::make_tuple(domain);
      }
      stage.complete();
    }
    tx.exec(
        "CREATE TEMP TABLE fw_feed_ids ON COMMIT DROP AS SELECT DISTINCT w.domain_id "
        "FROM fw_feed_version v JOIN watchlist w ON w.domain = v.domain");
    ListingChange change;
    change.listed = tx.exec1("SELECT count(*) FROM fw_feed_ids")[0].as<std::size_t>();
    tx.exec_params(
        "UPDATE watchlist_listing SET last_seen = $2::timestamptz "
        "WHERE feed_id = $1 AND delisted_at IS NULL "
        "AND domain_id IN (SELECT domain_id FROM fw_feed_ids)",
        feed_id, when);
    change.new_listings = tx.exec_params(
                                "INSERT INTO watchlist_listing (feed_id, domain_id, listed_at, "
                                "last_seen) SELECT $1, i.domain_id, $2::timestamptz, "
                                "$2::timestamptz FROM fw_feed_ids i WHERE NOT EXISTS ("
                                "SELECT 1 FROM watchlist_listing l WHERE l.feed_id = $1 "
                                "AND l.domain_id = i.domain_id AND l.delisted_at IS NULL)",
                                feed_id, when)
                              .affected_rows();
    change.delisted = tx.exec_params(
                            "UPDATE watchlist_listing SET delisted_at = greatest($2::timestamptz, "
                            "listed_at) WHERE feed_id = $1 AND delisted_at IS NULL "
                            "AND domain_id NOT IN (SELECT domain_id FROM fw_feed_ids)",
                            feed_id, when)
                          .affected_rows();
    tx.exec_params(
        "UPDATE feeds SET etag = NULLIF($2, ''), last_modified = NULLIF($3, ''), "
        "last_attempt_at = $4::timestamptz, last_success_at = $4::timestamptz, "
        "last_changed_at = $4::timestamptz, last_status = $5, last_error = NULL, "
        "consecutive_failures = 0, entries = $6 WHERE feed_id = $1",
        feed_id, etag, last_modified, when, http_status, static_cast<long long>(change.listed));
    impl_->session.commit(tx);
    return change;
  });
}

}  // namespace fluxwatch::storage
