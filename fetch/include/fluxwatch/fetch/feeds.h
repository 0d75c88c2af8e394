#pragma once
/// Watchlist feeds: fetch (conditional, size-limited), parse as untrusted input, import into
/// the watchlist and record which domains the feed lists now. A feed that fails keeps its
/// previous import; a domain that leaves a feed is marked delisted, never deleted.

#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/fetch/http_client.h"
#include "fluxwatch/watchlist/parser.h"

namespace fluxwatch::fetch {

/// Layout of a feed's content.
enum class FeedFormat {
  Plain,      ///< the watchlist format (watchlist::parse): one domain per line, optional CSV tags
  Csv,        ///< CSV with a header line; the domain is in the column named `column`
  JsonLines,  ///< one JSON object per line; the domain is the string member `column`
};

/// "plain", "csv", "jsonl"; nullopt for anything else.
[[nodiscard]] std::optional<FeedFormat> parse_feed_format(std::string_view text);
[[nodiscard]] std::string_view feed_format_name(FeedFormat format) noexcept;

/**
 * Parses feed content. Content that is itself gzip-compressed (a .gz file served as is) is
 * decompressed first, up to `max_bytes`. Every name goes through watchlist::parse (and so
 * normalise_domain); problems keep their line numbers.
 * @throw fluxwatch::Error if the content cannot be used at all (csv without the column,
 *        broken or oversized gzip).
 */
[[nodiscard]] watchlist::ParseResult parse_feed(std::string_view content, FeedFormat format,
                                                const std::string& column, std::size_t max_bytes);

/**
 * The streaming form of parse_feed() (watchlist::parse_each for every format): hands each
 * accepted line to `on_entry`, each rejected one to `on_problem` and each tag left off to
 * `on_tag_problem` (when given) as `in` is read, keeping nothing per domain; duplicates are
 * the consumer's to merge. No gzip: the caller decompresses. Returns the lines read.
 * @throw fluxwatch::Error when csv input has no header naming `column`.
 */
std::size_t parse_feed_each(std::istream& in, FeedFormat format, const std::string& column,
                            const std::function<void(watchlist::Entry&&)>& on_entry,
                            const std::function<void(watchlist::Problem&&)>& on_problem,
                            const std::function<void(watchlist::Problem&&)>& on_tag_problem = {});

/// How long after a failed attempt a feed is retried: 30 s, doubling with each consecutive
/// failure, never longer than its refresh interval.
[[nodiscard]] std::chrono::seconds failed_feed_backoff(int consecutive_failures,
                                                       std::chrono::seconds refresh_interval);

/// Decompresses gzip `data` (zlib). @throw fluxwatch::Error if broken or over `max_bytes`.
[[nodiscard]] std::string gunzip(std::string_view data, std::size_t max_bytes);

/// One feed to refresh.
struct FeedSpec {
  std::string url;
  FeedFormat format = FeedFormat::Plain;
  std::string column = "domain";                         ///< csv column / jsonl field
  std::vector<std::string> tags;                         ///< added to every entry
  std::optional<std::chrono::seconds> refresh_interval;  ///< none: one-off import
  std::string source;  ///< watchlist.source for new domains; default: the URL
};

/// What refreshing one feed did.
struct FeedOutcome {
  enum class Kind { Imported, NotModified, Failed, NotDue };
  std::string url;  ///< redacted (no credentials)
  Kind kind = Kind::Failed;
  long http_status = 0;
  std::size_t entries = 0;   ///< valid domains in the new version
  std::size_t added = 0;     ///< new to the watchlist
  std::size_t existing = 0;  ///< already watched
  std::size_t new_listings = 0;
  std::size_t delisted = 0;
  std::size_t duplicates = 0;
  std::vector<watchlist::Problem> problems;  ///< rejected lines
  std::string error;                         ///< why it failed
  std::int64_t feed_id = 0;                  ///< its row in `feeds` (0 for NotDue)
  /// A version of the feed was imported before this attempt (so a failure keeps it).
  bool had_previous_import = false;
  /// NotDue: when it is due, and why (e.g. retrying a failed feed after a back-off).
  std::string detail;
};

/**
 * Refreshes feeds against one database (which must be migrated). Owns an HttpClient and two
 * database connections. Thread affinity: one thread at a time.
 */
class FeedRefresher {
 public:
  FeedRefresher(const std::string& dsn, FetchOptions options);
  ~FeedRefresher();
  FeedRefresher(const FeedRefresher&) = delete;
  FeedRefresher& operator=(const FeedRefresher&) = delete;
  FeedRefresher(FeedRefresher&&) noexcept;
  FeedRefresher& operator=(FeedRefresher&&) noexcept;

  /// Fetches `feed` now (conditionally: a 304 keeps the current version) and imports it.
  /// Fetch and content failures are returned; database failures throw fluxwatch::Error.
  FeedOutcome refresh(const FeedSpec& feed);
  /// Refreshes the feeds whose last attempt is at least their refresh interval before
  /// `now` (or that were never fetched); a feed whose last attempt failed is retried after
  /// failed_feed_backoff() instead. The others are reported as NotDue, with when they are due.
  std::vector<FeedOutcome> refresh_due(const std::vector<FeedSpec>& feeds,
                                       std::chrono::system_clock::time_point now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::fetch
