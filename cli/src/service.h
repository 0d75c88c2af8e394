#pragma once
/// Internal: what the service commands (status, metrics, db grant-reader) share.

#include <string>
#include <vector>

#include "fluxwatch/config/config.h"
#include "fluxwatch/status/status.h"

namespace CLI {
class App;
}

namespace fluxwatch::cli {

class CommandTable;

/// The configured GeoIP files as libmaxminddb reads them (type, build time, or the error).
[[nodiscard]] std::vector<status::GeoFileStatus> read_geo_files(const config::Config& config);

/// healthy 0, degraded 3 (kExitPartial), down 1 (kExitFailure).
[[nodiscard]] int exit_status(status::Health health);

/// --metrics-file and --trace, shared by `probe` and `run`.
void add_monitor_flags(CLI::App& command, std::string& metrics_file, std::string& trace);

void add_status_commands(CLI::App& app, CommandTable& table);  // status

}  // namespace fluxwatch::cli
