#pragma once
/// Text forms of values as the storage layer writes them into COPY streams and SQL
/// parameters. Pure functions, unit-tested without a database.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "fluxwatch/common/time_text.h"

namespace fluxwatch::storage::detail {

using fluxwatch::format_timestamp_utc;

/// Microseconds since the Unix epoch back to a time_point.
[[nodiscard]] std::chrono::system_clock::time_point from_unix_micros(long long micros);

/// True if `text` is an IPv4 or IPv6 address that PostgreSQL's inet accepts as a host
/// address (no prefix length).
[[nodiscard]] bool is_ip_address(std::string_view text);

/// `text`, or nullopt (NULL) if it is empty.
[[nodiscard]] std::optional<std::string> null_if_empty(std::string_view text);

}  // namespace fluxwatch::storage::detail
