#pragma once
/// Internal: RAII owner of one opened MaxMind DB (libmaxminddb's MMDB_s). Not a public
/// header: it includes <maxminddb.h>.

#include <maxminddb.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "fluxwatch/geo/enricher.h"

namespace fluxwatch::geo::detail {

/// What changes when a file is replaced (inode) or rewritten in place (size, mtime).
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

/// The stamp of `path` now (following symlinks); nullopt when it cannot be stat'ed.
[[nodiscard]] std::optional<FileStamp> stamp_of(const std::filesystem::path& path);

/**
 * One MaxMind DB opened with MMDB_open (memory-mapped) and closed with MMDB_close.
 *
 * The file is read into a private in-memory copy (memfd) and that copy is mapped: a file
 * overwritten in place (`cp new.mmdb over the configured path`) would otherwise change
 * under the mapping, giving corrupt lookups or SIGBUS once truncated. The copy is taken
 * only when the file did not change while it was read (stamp before == stamp after).
 *
 * MMDB_s is a value that libmaxminddb points into, so the handle can be neither copied nor
 * moved; hold it in a std::optional or a std::unique_ptr. Lookups do not modify the
 * database, but the owner (Enricher) is used from one thread at a time.
 */
class MmdbHandle {
 public:
  /**
   * Opens `path` and checks that its metadata database_type contains one of
   * `accepted_types` (e.g. {"ASN"}); an empty list accepts any type. With `verify`, a
   * sample of its data records is decoded as lookups would (verify_sample).
   * @throw fluxwatch::ConfigError naming the file and the libmaxminddb error (MMDB_strerror)
   *        when it cannot be opened or is corrupt, or naming the file and the type found
   *        when the type is not one of those accepted.
   */
  MmdbHandle(const std::filesystem::path& path,
             std::initializer_list<std::string_view> accepted_types,
             std::initializer_list<std::string_view> expected_keys = {}, bool verify = true);
  ~MmdbHandle();
  MmdbHandle(const MmdbHandle&) = delete;
  MmdbHandle& operator=(const MmdbHandle&) = delete;
  MmdbHandle(MmdbHandle&&) = delete;
  MmdbHandle& operator=(MmdbHandle&&) = delete;

  /// The opened database, for MMDB_lookup_sockaddr (which takes a const MMDB_s*).
  [[nodiscard]] const MMDB_s* get() const noexcept { return &db_; }
  /// Path, database_type and build_epoch from the metadata.
  [[nodiscard]] const DatabaseInfo& info() const noexcept { return info_; }
  /// The file's stamp when it was read: a different stamp now means it changed on disk.
  [[nodiscard]] const FileStamp& stamp() const noexcept { return stamp_; }

 private:
  MMDB_s db_{};
  DatabaseInfo info_;
  FileStamp stamp_;
};

/**
 * Walks the first nodes of the search tree and decodes the data records they point to, as
 * lookups would. @throw fluxwatch::ConfigError naming `path` when a node or record cannot be
 * read, or when no sampled record has any of `expected_keys` at its top level (a zeroed
 * data section decodes as empty maps). An empty `expected_keys` only checks decoding.
 */
void verify_sample(const MMDB_s& db, const std::filesystem::path& path,
                   std::initializer_list<std::string_view> expected_keys);

}  // namespace fluxwatch::geo::detail
