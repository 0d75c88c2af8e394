#pragma once
/// The flags `probe` and `query` share: they override `resolvers`, `probe.*` and `geoip.*`
/// for one run. Their ranges are the settings table's (config::integer_range), so a flag
/// and its key accept the same values.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/config/config.h"

namespace fluxwatch::cli {

struct CrawlFlags {
  std::vector<std::string> resolvers;
  std::vector<std::string> types;  ///< empty: probe.record_types
  std::optional<std::size_t> concurrency;
  std::optional<int> timeout_ms;
  std::optional<int> tries;
  bool no_recursion = false;
  std::string asn_db;
  std::string city_db;
};

/// Adds --resolver, --types, --concurrency, --timeout-ms, --tries, --no-recursion, --asn-db
/// and --city-db. `names_follow`: the command takes names as positionals after the flags,
/// so --resolver and --types take one value each (-t is --types there, as in zdns and dig).
void add_crawl_flags(CLI::App& command, CrawlFlags& flags, bool names_follow);

/// The range of a whole-number setting as a flag's check: the flag accepts what the key does.
[[nodiscard]] CLI::Range setting_range(std::string_view key);

/// `config` with the flags given applied, validated.
[[nodiscard]] config::Config apply_crawl_flags(config::Config config, const CrawlFlags& flags);

}  // namespace fluxwatch::cli
