#pragma once
/// Small text helpers every input stage uses (watchlists, feeds, HTTP headers, names).

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace fluxwatch {

/// `text` without leading and trailing white space (space, \t, \r, \n, \f, \v).
[[nodiscard]] std::string_view trim(std::string_view text) noexcept;

/// The fields of one CSV line, each trimmed: RFC 4180 quoting within the line (a quoted
/// field may hold commas, "" is a quote), no line breaks inside fields. An empty line is
/// one empty field.
[[nodiscard]] std::vector<std::string> csv_fields(std::string_view line);

/// Reads one line (without its '\n') into `line`, keeping at most `limit` + 1 bytes so that
/// a hostile input without newlines cannot fill the memory; the rest of a longer line is
/// skipped and `cut` set. False at the end of the input.
bool read_bounded_line(std::istream& in, std::string& line, std::size_t limit, bool& cut);

}  // namespace fluxwatch
