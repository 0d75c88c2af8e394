#pragma once
/// Storage of watchlist feeds: their fetch state and which domains they listed when
/// (migration 0006_feeds_http). HTTP probes are in http_probe_store.h.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fluxwatch::storage {

using TimePoint = std::chrono::system_clock::time_point;

/// How a feed is configured (stored with its state, so `fluxwatch feeds list` shows it).
struct FeedDefinition {
  /// As configured, secrets included, when handed to ensure_feed/find_feed; stored and read
  /// back redacted (no userinfo, query values "..."), identified by a salted digest.
  std::string url;
  std::string format = "plain";  ///< plain, csv, jsonl
  std::string column;            ///< csv column / jsonl field; empty for plain
  std::string tag;
  std::optional<std::chrono::seconds> refresh_interval;  ///< none for one-off imports
};

/// A feed and the state of its last fetch.
struct FeedState {
  std::int64_t feed_id = 0;
  FeedDefinition definition;
  std::string etag;
  std::string last_modified;
  std::optional<TimePoint> last_attempt_at;
  std::optional<TimePoint> last_success_at;
  std::optional<TimePoint> last_changed_at;
  int last_status = 0;
  std::string last_error;
  int consecutive_failures = 0;
  std::optional<std::int64_t> entries;
  std::int64_t listed_now = 0;  ///< domains with an open listing
};

/// What recording a new version of a feed changed in watchlist_listing.
struct ListingChange {
  std::size_t listed = 0;        ///< domains in this version
  std::size_t new_listings = 0;  ///< listing periods opened (new or back again)
  std::size_t delisted = 0;      ///< listing periods closed (no longer listed)
};

/**
 * Feeds and listings in PostgreSQL (the schema must be migrated; see
 * Database::migrate). SQL is parameterised; bulk rows go through COPY.
 * @throw fluxwatch::Error on connection or SQL failures (storage::Session's retry policy).
 * Thread affinity: one thread at a time (one libpq connection).
 */
class FeedStore {
 public:
  explicit FeedStore(const std::string& dsn);
  ~FeedStore();
  FeedStore(const FeedStore&) = delete;
  FeedStore& operator=(const FeedStore&) = delete;
  FeedStore(FeedStore&&) noexcept;
  FeedStore& operator=(FeedStore&&) noexcept;

  /// Creates the feed if new, else updates its definition; returns its state.
  FeedState ensure_feed(const FeedDefinition& definition);
  /// The feed configured as `url` (secrets included), if it was ever ensured.
  [[nodiscard]] std::optional<FeedState> find_feed(const std::string& url);
  /// Every feed, ordered by url.
  [[nodiscard]] std::vector<FeedState> feeds();

  /// Deletes feed `feed_id` if nothing was ever imported from it (a failed one-off
  /// `watchlist import URL`); returns whether it did.
  bool forget_never_imported(std::int64_t feed_id);
  /// A failed fetch: the listing is kept as it is.
  void record_failure(std::int64_t feed_id, int http_status, const std::string& error,
                      TimePoint at);
  /// A 304: the listing is current; its open periods are seen again at `at`.
  void record_not_modified(std::int64_t feed_id, int http_status, TimePoint at);
  /**
   * A new version listing `domains` (already in the watchlist, normalised): opens listing
   * periods for domains not listed now, closes (delisted_at = at) those no longer listed,
   * stores the validators. One transaction.
   */
  ListingChange record_version(std::int64_t feed_id, const std::vector<std::string>& domains,
                               const std::string& etag, const std::string& last_modified,
                               int http_status, TimePoint at);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::storage
