#pragma once
/// `fluxwatch geo update`: download MaxMind-format databases (plain MMDB, .gz or .tar.gz as
/// MaxMind and geoipupdate serve them), verify them with libmaxminddb, and swap them in
/// atomically (rename in the target's directory), so that a running daemon that reopens
/// its databases (SIGHUP) sees either the old file or the new one, never a partial one.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fluxwatch/config/config.h"
#include "fluxwatch/fetch/http_client.h"

namespace fluxwatch::fetch {

/// Which Enricher slot a database is for (decides the accepted database_type).
enum class GeoKind { Asn, City };

/// One database to download.
struct GeoDownload {
  GeoKind kind = GeoKind::Asn;
  std::string url;
  std::filesystem::path target;  ///< geoip.asn_database / geoip.city_database
  std::string user;              ///< basic auth (MaxMind account id); empty: none
  std::string password;          ///< MaxMind licence key
};

/// What happened to one database.
struct GeoUpdateResult {
  std::string url;  ///< redacted
  std::filesystem::path target;
  bool replaced = false;
  std::string database_type;      ///< of the new file
  std::uint64_t build_epoch = 0;  ///< of the new file
  std::string error;              ///< why the old file was kept; empty on success
};

/**
 * The downloads the configuration asks for: geoip.update.asn_url / city_url, and for every
 * geoip.update.edition_ids entry (with account_id + license_key) the MaxMind download
 * `{maxmind_url}/geoip/databases/{edition}/download?suffix=tar.gz`; an edition whose name
 * contains "ASN" goes to geoip.asn_database, any other to geoip.city_database.
 * @throw fluxwatch::ConfigError when nothing is configured or a target path is missing.
 */
[[nodiscard]] std::vector<GeoDownload> plan_geo_updates(const config::Config& config);

/// Downloads, unpacks, verifies and installs one database. Failures are returned (the
/// old file stays in place); the temporary files are always removed.
[[nodiscard]] GeoUpdateResult update_geo_database(HttpClient& client, const GeoDownload& download);

/**
 * Writes the MMDB inside `archive` to `out`: the file itself if it is a plain MMDB, its
 * decompressed content if gzip, or the first regular `*.mmdb` member of a (compressed) tar.
 * Member names are never used as paths. @throw fluxwatch::Error if there is no MMDB or the
 * content is over `max_bytes`.
 */
void unpack_mmdb(const std::filesystem::path& archive, const std::filesystem::path& out,
                 std::size_t max_bytes);

}  // namespace fluxwatch::fetch
