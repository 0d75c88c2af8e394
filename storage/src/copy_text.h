#pragma once
/// Text forms of values as the storage layer writes them into COPY streams and SQL
/// parameters. Pure functions, unit-tested without a database.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fluxwatch::storage::detail {

/// `tp` as a PostgreSQL timestamptz literal in UTC with microseconds, e.g.
/// "2026-11-22 10:00:00.123456+00". Sub-microsecond parts are truncated towards the past
/// (PostgreSQL stores microseconds).
[[nodiscard]] std::string format_timestamp_utc(std::chrono::system_clock::time_point tp);

/// Microseconds since the Unix epoch back to a time_point.
[[nodiscard]] std::chrono::system_clock::time_point from_unix_micros(long long micros);

/// True if `text` is an IPv4 or IPv6 address that PostgreSQL's inet accepts as a host
/// address (no prefix length).
[[nodiscard]] bool is_ip_address(std::string_view text);

/// `text`, or nullopt (NULL) if it is empty.
[[nodiscard]] std::optional<std::string> null_if_empty(std::string_view text);

}  // namespace fluxwatch::storage::detail
