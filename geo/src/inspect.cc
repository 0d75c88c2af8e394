#include "fluxwatch/geo/inspect.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <maxminddb.h>

#include <memory>

#include "fluxwatch/common/error.h"
#include "mmdb_handle.h"

namespace fluxwatch::geo {
namespace {

struct EntryListDeleter {
  void operator()(MMDB_entry_data_list_s* list) const noexcept { MMDB_free_entry_data_list(list); }
};

std::unique_ptr<detail::MmdbHandle> open_as(const std::filesystem::path& path, DatabaseKind kind) {
  switch (kind) {
    case DatabaseKind::Asn:
      return std::make_unique<detail::MmdbHandle>(path,
                                                  std::initializer_list<std::string_view>{"ASN"});
    case DatabaseKind::City:
      return std::make_unique<detail::MmdbHandle>(
          path, std::initializer_list<std::string_view>{"City", "Country"});
    case DatabaseKind::Any:
      break;
  }
  return std::make_unique<detail::MmdbHandle>(path, std::initializer_list<std::string_view>{});
}

}  // namespace

DatabaseInfo inspect_database(const std::filesystem::path& path, DatabaseKind kind) {
  const auto owned = open_as(path, kind);
  const detail::MmdbHandle& handle = *owned;
  // Addresses from both families and several /8s: each walks a different path of the tree.
  for (const char* address :
       {"1.1.1.1", "8.8.8.8", "81.2.69.160", "127.0.0.1", "2001:4860::1", "2a02:cf40::1"}) {
    int gai_error = 0;
    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result =
        MMDB_lookup_string(handle.get(), address, &gai_error, &mmdb_error);
    if (gai_error != 0 || mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
      continue;
    }
    if (mmdb_error != MMDB_SUCCESS) {
      throw Error(fmt::format("MaxMind database {} is corrupt: looking up {}: {}", path, address,
                              MMDB_strerror(mmdb_error)));
    }
    if (!result.found_entry) {
      continue;
    }
    MMDB_entry_data_list_s* raw = nullptr;
    const int status = MMDB_get_entry_data_list(&result.entry, &raw);
    const std::unique_ptr<MMDB_entry_data_list_s, EntryListDeleter> list(raw);
    if (status != MMDB_SUCCESS) {
      throw Error(fmt::format("MaxMind database {} is corrupt: reading the data of {}: {}", path,
                              address, MMDB_strerror(status)));
    }
  }
  return handle.info();
}

}  // namespace fluxwatch::geo
