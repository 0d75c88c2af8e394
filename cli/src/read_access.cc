// read_access.h: database.read_dsn for the read-only commands.
#include "read_access.h"

#include <fmt/format.h>

#include "context.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/storage/report_store.h"

namespace fluxwatch::cli {

std::string read_dsn_or_primary(const config::Config& config) {
  return config.database.read_dsn.empty() ? database_dsn(config) : config.database.read_dsn;
}

void check_read_dsn(const config::Config& config) {
  if (config.database.read_dsn.empty()) {
    return;
  }
  storage::ReportStore reader(config.database.read_dsn);
  const int version = reader.schema_version();
  const int needed = storage::latest_schema_version();
  if (version < needed) {
    throw Error(
        fmt::format("database.read_dsn ({}) is at schema version {}, this fluxwatch needs {}: run "
                    "`fluxwatch init` against the primary and let the standby replay it (or clear "
                    "database.read_dsn to read from the primary)",
                    config::redact_dsn(config.database.read_dsn), version, needed));
  }
}

std::string prepare_reads(const config::Config& config) {
  if (config.database.read_dsn.empty()) {
    [[maybe_unused]] const auto db = open_database(config);  // applies pending migrations
    return database_dsn(config);
  }
  check_read_dsn(config);
  return config.database.read_dsn;
}

}  // namespace fluxwatch::cli
