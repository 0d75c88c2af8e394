#pragma once
/// Text forms of values as the storage layer writes them into COPY streams and SQL
/// parameters. Pure functions, unit-tested without a database.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

/// The fields of one line of COPY text output (tab-separated; a trailing newline is
/// dropped), as views into `line`.
void copy_fields(std::string_view line, std::vector<std::string_view>& fields);

/// An integer field of COPY text output. @throw Error if it is not one.
[[nodiscard]] std::int64_t copy_integer(std::string_view field);

/// A text field of COPY text output with its backslash escapes undone (COPY TO writes \\,
/// \b, \f, \n, \r, \t, \v).
[[nodiscard]] std::string copy_text_field(std::string_view field);

}  // namespace fluxwatch::storage::detail
