#pragma once
/// The schema migrations compiled into the library (generated from storage/migrations/).

#include <span>
#include <string_view>

namespace fluxwatch::storage::detail {

/// One migration: storage/migrations/<version, 4 digits>_<name>.sql.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// Every embedded migration, ordered by strictly increasing version (checked at build time).
[[nodiscard]] std::span<const Migration> embedded_migrations() noexcept;

}  // namespace fluxwatch::storage::detail
