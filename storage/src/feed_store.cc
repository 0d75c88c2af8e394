// FeedStore: feeds, watchlist_listing and http_probes (migration 0006_feeds_http).
#include "fluxwatch/storage/feed_store.h"

#include <fmt/format.h>

#include <pqxx/pqxx>
#include <string_view>
#include <tuple>

#include "copy_text.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/redact.h"

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
  explicit Impl(const std::string& dsn) {
    try {
      connection = std::make_unique<pqxx::connection>(dsn);
    } catch (const std::exception& error) {
      throw Error(fmt::format("feeds: cannot connect to PostgreSQL: {}", error.what()));
    }
  }

  template <typename Body>
  auto run(const char* what, Body body) {
    try {
      return body(*connection);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& error) {
      throw Error(fmt::format("feeds: {} failed: {}", what, error.what()));
    }
  }

  std::unique_ptr<pqxx::connection> connection;
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
    tx.commit();
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
    tx.commit();
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
    tx.commit();
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
    tx.commit();
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
    tx.commit();
    return change;
  });
}

std::vector<NewAddress> FeedStore::unprobed_addresses(std::optional<TimePoint> since,
                                                      const std::string& campaign,
                                                      std::size_t limit) {
  return impl_->run("unprobed_addresses", [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const std::string since_text = since ? detail::format_timestamp_utc(*since) : "";
    std::vector<NewAddress> out;
    for (const auto& row : tx.exec_params(
             R"sql(
SELECT p.domain_id, w.domain, host(r.address), max(p.sent_at) AS seen
FROM probes p
JOIN records r ON r.probe_id = p.probe_id
JOIN watchlist w ON w.domain_id = p.domain_id
WHERE r.section = 'answer' AND r.rtype IN ('A', 'AAAA') AND r.address IS NOT NULL
  AND p.sent_at >= coalesce(NULLIF($1, '')::timestamptz, '-infinity'::timestamptz)
  AND (NULLIF($2, '') IS NULL OR p.campaign = $2)
  AND NOT EXISTS (SELECT 1 FROM http_probes h
                  WHERE h.domain_id = p.domain_id AND h.address = r.address)
GROUP BY p.domain_id, w.domain, r.address
ORDER BY seen DESC, w.domain, r.address
LIMIT $3)sql",
             since_text, campaign, static_cast<long long>(limit))) {
      out.push_back(
          {row[0].as<std::int64_t>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return out;
  });
}

void FeedStore::store_http_probes(const std::vector<HttpProbeRow>& rows) {
  if (rows.empty()) {
    return;
  }
  impl_->run("store_http_probes", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::stream_to out(tx, "http_probes",
                        std::vector<std::string>{
                            "domain_id", "domain", "address", "url", "started_at", "connect_us",
                            "ttfb_us", "total_us", "status", "server", "content_type", "location",
                            "body_length", "body_truncated", "body_sha256", "error", "campaign"});
    for (const auto& row : rows) {
      if (!detail::is_ip_address(row.address)) {
        continue;  // the inet column would reject the whole batch
      }
      out << std::make_tuple(
          row.domain_id != 0 ? std::optional<std::int64_t>(row.domain_id) : std::nullopt,
          row.domain, row.address, row.url, detail::format_timestamp_utc(row.started_at),
          row.connect_us, row.ttfb_us, row.total_us, row.status, detail::null_if_empty(row.server),
          detail::null_if_empty(row.content_type), detail::null_if_empty(row.location),
          row.body_length, row.body_truncated, detail::null_if_empty(row.body_sha256),
          detail::null_if_empty(row.error), detail::null_if_empty(row.campaign));
    }
    out.complete();
    tx.commit();
  });
}

}  // namespace fluxwatch::storage
