#pragma once
/// Timestamps as text, in the one form fluxwatch writes to PostgreSQL (COPY and parameters).

#include <chrono>
#include <string>

namespace fluxwatch {

/// `tp` as a PostgreSQL timestamptz literal in UTC with microseconds, e.g.
/// "2026-11-22 10:00:00.123456+00". Sub-microsecond parts are truncated towards the past
/// (PostgreSQL stores microseconds; a time before 1970 must not round towards the epoch).
[[nodiscard]] std::string format_timestamp_utc(std::chrono::system_clock::time_point tp);

}  // namespace fluxwatch
