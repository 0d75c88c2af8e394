#pragma once
/// Parsing the --since/--until arguments of `fluxwatch score` and `explain`.

#include <chrono>
#include <optional>
#include <string_view>

namespace fluxwatch::scoring {

/**
 * "2026-11-22T18:40:11Z", "2026-11-22 18:40:11" (UTC), "2026-11-22" (midnight UTC), or a
 * duration before `now`: "90s", "30m", "24h", "7d". nullopt if it is none of these.
 */
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_time_arg(
    std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace fluxwatch::scoring
