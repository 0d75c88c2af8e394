#pragma once
/// Internal: the `campaigns:` list and `scheduler.*` settings of `fluxwatch run`, kept
/// out of config.cc so the scheduler's settings live in one place.

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string_view>
#include <vector>

#include "fluxwatch/config/config.h"

namespace fluxwatch::config::detail {

/// Reports a problem at a node ("FILE:LINE: KEY: message"); never returns.
using FailAt = std::function<void(const YAML::Node&, std::string_view, std::string_view)>;

/// Parses `campaigns:` (a list of mappings); unknown keys, bad values, duplicate names and
/// min_interval > max_interval are reported with the line.
[[nodiscard]] std::vector<Campaign> parse_campaigns(const YAML::Node& node, std::string_view key,
                                                    const FailAt& fail);

/// A number of seconds (fractions allowed) in [low, high], as milliseconds.
[[nodiscard]] std::chrono::milliseconds parse_seconds(const YAML::Node& node, std::string_view key,
                                                      double low, double high, const FailAt& fail);

/// Writes `campaigns` and `scheduler` into an open top-level YAML map.
void emit_campaigns(YAML::Emitter& out, const Config& config);

}  // namespace fluxwatch::config::detail
