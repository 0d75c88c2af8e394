#pragma once
// Where read-only work goes: `report`, `explain` and scoring's reads use database.read_dsn
// when it is set (a hot standby, or a login with only fluxwatch_reader); everything that
// writes (scores included) and `status` (it reports the primary's health) use the primary.

#include <string>

#include "fluxwatch/config/config.h"

namespace fluxwatch::cli {

/// database.read_dsn, else the database every command uses.
[[nodiscard]] std::string read_dsn_or_primary(const config::Config& config);

/**
 * Readies the database a read-only command reads and returns its DSN. Without read_dsn:
 * the primary, migrated as every command does. With read_dsn: that database only (the
 * primary is not contacted, so reads go on while it is down); its schema must be the one
 * this fluxwatch creates. @throw fluxwatch::Error saying what to do when it is older.
 */
[[nodiscard]] std::string prepare_reads(const config::Config& config);

/// With read_dsn set: checks its schema as prepare_reads() does (for `score`, which also
/// writes to the primary). Without: nothing.
void check_read_dsn(const config::Config& config);

}  // namespace fluxwatch::cli
