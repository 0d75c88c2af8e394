#pragma once
/// fluxwatch's settings: one YAML file (yaml-cpp) with documented defaults, overridden by
/// command-line flags. Unknown keys and bad values are rejected with the file, line and
/// key path.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/endpoint.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::config {

/// Every setting, with its default. The YAML keys mirror the member names.
struct Config {
  /// `state_dir`: where fluxwatch keeps its own PostgreSQL cluster and runtime files.
  std::filesystem::path state_dir;

  struct Database {
    /// `database.dsn`: libpq connection string or URI. Empty: the PG* environment
    /// variables if any is set, else a cluster fluxwatch runs itself under state_dir.
    std::string dsn;
  } database;

  /// `resolvers`: DNS servers as "ip[:port]". Empty: the system's /etc/resolv.conf.
  std::vector<Endpoint> resolvers;

  struct Probe {
    std::vector<RrType> record_types{RrType::A, RrType::AAAA, RrType::NS};  ///< `probe.record_types`
    std::size_t concurrency = 2000;             ///< `probe.concurrency`: queries in flight
    std::chrono::milliseconds timeout{2000};    ///< `probe.timeout_ms`: per try
    int tries = 2;                              ///< `probe.tries`
    bool recursion = true;                      ///< `probe.recursion`: RD bit
    bool edns = true;                           ///< `probe.edns`
    std::uint16_t edns_udp_size = 1232;         ///< `probe.edns_udp_size`
    int socket_buffer_bytes = 4 << 20;          ///< `probe.socket_buffer_bytes`
    std::size_t batch_size = 5000;              ///< `probe.batch_size`: results per COPY
  } probe;

  struct Geo {
    std::filesystem::path asn_database;   ///< `geoip.asn_database`: GeoLite2-ASN shaped MMDB
    std::filesystem::path city_database;  ///< `geoip.city_database`: GeoLite2-City shaped MMDB
    std::size_t cache_entries = 1 << 20;  ///< `geoip.cache_entries`
  } geoip;

  struct Log {
    std::string level = "info";  ///< `log.level`: trace, debug, info, warn, error, off
  } log;

  /// Checks cross-field rules; throws ConfigError naming the key.
  void validate() const;
};

/// The defaults, with state_dir resolved for this user ($FLUXWATCH_STATE_DIR, else
/// /var/lib/fluxwatch as root, else ${XDG_STATE_HOME:-~/.local/state}/fluxwatch).
[[nodiscard]] Config default_config();

/// Parses YAML text over the defaults. `source` names the text in messages (a path).
/// @throw ConfigError "FILE:LINE: KEY.PATH: what is wrong (what is expected)".
[[nodiscard]] Config parse_config(std::string_view yaml_text, std::string_view source);

/// Reads and parses a file. @throw ConfigError if it cannot be read or is invalid.
[[nodiscard]] Config load_config_file(const std::filesystem::path& path);

/// The config file to use when none is given: $FLUXWATCH_CONFIG, else
/// ${XDG_CONFIG_HOME:-~/.config}/fluxwatch/config.yaml if it exists; empty if neither.
[[nodiscard]] std::filesystem::path default_config_path();

/// The effective configuration as YAML (what `fluxwatch config show` prints).
[[nodiscard]] std::string to_yaml(const Config& config);

/// The same as JSON, recorded with every probe run.
[[nodiscard]] std::string to_json(const Config& config);

}  // namespace fluxwatch::config
