#pragma once
/// Watchlist management beyond import: listing with every column, selecting a subset
/// (by domain, tag or source) for `probe`, removing domains and editing their tags.
/// Removal is soft (watchlist.removed_at, migration 0013): a removed domain keeps its
/// probes and scores, is no longer probed or scheduled, and a later import watches it again.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::storage {

/// Which watched domains to take; empty lists do not restrict. A domain matches when it
/// passes every non-empty list (domain named AND one of the tags AND one of the sources).
struct WatchlistFilter {
  std::vector<std::string> domains;  ///< normalised names
  std::vector<std::string> tags;
  std::vector<std::string> sources;
  [[nodiscard]] bool empty() const noexcept {
    return domains.empty() && tags.empty() && sources.empty();
  }
};

/// One watchlist row as `watchlist list --long` shows it.
struct WatchlistRow {
  std::int64_t id = 0;
  std::string domain;  ///< normalised (A-labels)
  std::string source;
  std::vector<std::string> tags;
  std::chrono::system_clock::time_point added_at{};
};

/**
 * Queries and edits of the watchlist table, on a connection of its own.
 * @throw fluxwatch::Error when the database cannot be reached or a statement fails.
 * Thread affinity: one thread at a time.
 */
class WatchlistStore {
 public:
  explicit WatchlistStore(const std::string& dsn);
  ~WatchlistStore();
  WatchlistStore(const WatchlistStore&) = delete;
  WatchlistStore& operator=(const WatchlistStore&) = delete;
  WatchlistStore(WatchlistStore&&) noexcept;
  WatchlistStore& operator=(WatchlistStore&&) noexcept;

  /// Watched (not removed) domains matching `filter`, ordered by domain.
  [[nodiscard]] std::vector<WatchlistRow> rows(const WatchlistFilter& filter);
  /// The same as id + name, ordered by id (the order `probe` asks them in).
  [[nodiscard]] std::vector<WatchedDomain> domains(const WatchlistFilter& filter);
  /// Which of `names` are watched now: name -> id (names not watched are absent).
  [[nodiscard]] std::vector<WatchedDomain> find(const std::vector<std::string>& names);
  /// True if `name` was watched and then removed.
  [[nodiscard]] bool was_removed(const std::string& name);

  /// True if some probe was stored under campaign `name` (to refuse a mistyped --campaign).
  [[nodiscard]] bool campaign_has_probes(const std::string& name);

  /// Stops watching `names`; returns the names that were watched (and are removed now).
  std::vector<std::string> remove(const std::vector<std::string>& names);
  /// Adds `tags` to the watched `names`; returns how many domains changed.
  std::size_t add_tags(const std::vector<std::string>& names, const std::vector<std::string>& tags);
  /// Removes `tags` from the watched `names`; returns how many domains changed.
  std::size_t remove_tags(const std::vector<std::string>& names,
                          const std::vector<std::string>& tags);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fluxwatch::storage
