#pragma once
/// UTC times as ISO 8601 text for people, configs and arguments: the one formatter and the
/// one parser (the PostgreSQL form is time_text.h's).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fluxwatch {

/// `tp` as ISO 8601 UTC to the second, for people and machine output:
/// "2026-11-22T10:00:00Z" (truncated towards the past, like format_timestamp_utc).
[[nodiscard]] std::string format_iso8601_utc(std::chrono::system_clock::time_point tp);

/// What parse_utc_time accepts besides "YYYY-MM-DD[T or space]HH:MM:SS".
enum class UtcTimeForm {
  WithZone,      ///< the time must end in "Z", "+00:00" or "+00" (config files)
  ZoneOptional,  ///< "Z" may end it; a bare date "YYYY-MM-DD" is midnight (arguments)
};

/// A UTC time written as above; nullopt unless every field is in range for its calendar
/// date (no 31 February) and nothing else follows. Seconds may be 60 (a leap second).
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_utc_time(
    std::string_view text, UtcTimeForm form);

}  // namespace fluxwatch
