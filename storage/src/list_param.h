#pragma once
// A list passed to PostgreSQL as one text parameter, split server-side with
// string_to_array($n, E'\x1f'), so that no item is ever spliced into SQL.
#include <string>
#include <vector>

namespace fluxwatch::storage {

/// Separates list items inside one text parameter (ASCII unit separator: config and the CLI
/// refuse control characters in tags and sources; normalised domain names cannot hold them).
inline constexpr char kListSeparator = '\x1f';

inline std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += kListSeparator;
    }
    out += item;
  }
  return out;
}

}  // namespace fluxwatch::storage
