#pragma once
/// GeoIP and ASN enrichment from MaxMind-format databases (libmaxminddb), with a cache per
/// address because flux domains repeat the same addresses round after round.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::geo {

/// Metadata of one opened database.
struct DatabaseInfo {
  std::filesystem::path path;
  std::string database_type;      ///< e.g. "GeoLite2-ASN"
  std::uint64_t build_epoch = 0;  ///< seconds since 1970 when the file was built
  bool operator==(const DatabaseInfo&) const = default;
};

/// Where the databases are; an empty path means "not configured".
struct GeoOptions {
  std::filesystem::path asn_database;   ///< GeoLite2-ASN shaped
  std::filesystem::path city_database;  ///< GeoLite2-City shaped (or Country)
  std::size_t cache_entries = 1 << 20;  ///< addresses kept in the lookup cache
};

/**
 * Looks addresses up in an ASN and a City database.
 *
 * A configured database whose file does not exist is skipped with one warning (its
 * columns stay empty); a file that exists but is corrupt, or not an MMDB of the expected
 * kind, throws fluxwatch::Error naming the file. Thread affinity: one thread at a time.
 */
class Enricher {
 public:
  explicit Enricher(const GeoOptions& options);
  ~Enricher();
  Enricher(const Enricher&) = delete;
  Enricher& operator=(const Enricher&) = delete;
  Enricher(Enricher&&) noexcept;
  Enricher& operator=(Enricher&&) noexcept;

  /**
   * Data for an IPv4 or IPv6 address (an IPv4-mapped IPv6 address is looked up as IPv4);
   * empty when unknown. Never throws for an unknown address: a database that is corrupt at
   * this address leaves its columns empty (logged) and makes last_lookup_failed() true:
   * such a record must not be stored as "unknown" (it is not cached either: the next
   * lookup of the address tries again).
   * The returned reference stays valid until the next call to lookup() (the cache may be
   * cleared then): copy the record to keep it.
   */
  [[nodiscard]] const GeoRecord& lookup(const IpAddress& address);
  /// lookup() of address text as people write it (IpAddress::parse); empty when the text
  /// is not an address. Stages after the crawler pass the IpAddress it parsed instead.
  [[nodiscard]] const GeoRecord& lookup(std::string_view address);
  /// Whether the last lookup() hit corrupt data in a database (its record is incomplete).
  [[nodiscard]] bool last_lookup_failed() const noexcept;

  /// Identifies the database build(s) in use, e.g.
  /// "GeoLite2-ASN@1704067200,GeoLite2-City@1704067200"; nullopt when no database is open
  /// (then there is nothing to enrich with). Stored
  /// with every enrichment row. Callers ask for it at the start of each batch: it first
  /// reopens a database whose file changed on disk (inode, size or mtime; `cp` over the file
  /// included), so the tag returned is the one of the lookups that follow. A changed file
  /// that cannot be opened is refused (warned) and the databases in memory stay in use:
  /// each is a private copy read at open, so a file rewritten in place never changes them.
  [[nodiscard]] std::optional<std::string> build_tag() const;
  [[nodiscard]] std::optional<DatabaseInfo> asn_info() const;
  [[nodiscard]] std::optional<DatabaseInfo> city_info() const;
  /// Warnings raised while opening (missing files), for the caller to show once.
  [[nodiscard]] const std::vector<std::string>& warnings() const noexcept;

  [[nodiscard]] std::uint64_t cache_hits() const noexcept;
  [[nodiscard]] std::uint64_t cache_misses() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A build tag for people and the metadata of `fluxwatch query`: the tag, or "none" when
/// no database is open.
[[nodiscard]] std::string build_label(const std::optional<std::string>& build_tag);

}  // namespace fluxwatch::geo
