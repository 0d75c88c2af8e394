#pragma once
/// Checking a MaxMind database file before it is put into service (`fluxwatch geo update`).

#include <filesystem>

#include "fluxwatch/geo/enricher.h"

namespace fluxwatch::geo {

/// Which Enricher slot a database is meant for.
enum class DatabaseKind {
  Asn,   ///< database_type must contain "ASN" (as Enricher's asn_database)
  City,  ///< database_type must contain "City" or "Country" (as Enricher's city_database)
  Any,   ///< any database_type
};

/**
 * Opens `path` with libmaxminddb, checks that its database_type fits `kind` (the same rule
 * the Enricher applies), and walks the search tree and data section for a few
 * sample addresses, so that a truncated or corrupt file is caught here rather than at
 * lookup time.
 * @return path, database_type and build_epoch from the metadata.
 * @throw fluxwatch::Error naming the file and what is wrong.
 */
[[nodiscard]] DatabaseInfo inspect_database(const std::filesystem::path& path, DatabaseKind kind);

}  // namespace fluxwatch::geo
