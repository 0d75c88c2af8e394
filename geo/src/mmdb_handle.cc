#include "mmdb_handle.h"

#include <fmt/format.h>
#include <fmt/std.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "fluxwatch/common/error.h"

namespace fluxwatch::geo::detail {

namespace {

/// Joins the accepted types for an error message: `"ASN"` or `"City" or "Country"`.
std::string describe(std::initializer_list<std::string_view> accepted_types) {
  std::string out;
  for (const auto type : accepted_types) {
    if (!out.empty()) {
      out += " or ";
    }
    out += fmt::format("\"{}\"", type);
  }
  return out;
}

}  // namespace

MmdbHandle::MmdbHandle(const std::filesystem::path& path,
                       std::initializer_list<std::string_view> accepted_types) {
  // MMDB_open on a directory fails in mmap with ENODEV ("No such device"): say it plainly.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("cannot open MaxMind database {}: it is a directory", path));
  }
  errno = 0;
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db_);
  if (status != MMDB_SUCCESS) {
    // MMDB_open releases what it allocated when it fails: no MMDB_close here.
    std::string detail = MMDB_strerror(status);
    const int saved_errno = errno;
    if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved_errno != 0) {
      detail += fmt::format(" ({})", std::strerror(saved_errno));
    }
    throw Error(fmt::format("cannot open MaxMind database {}: {}", path, detail));
  }

  info_.path = path;
  info_.database_type = db_.metadata.database_type != nullptr ? db_.metadata.database_type : "";
  info_.build_epoch = db_.metadata.build_epoch;

  const bool accepted =
      accepted_types.size() == 0 ||
      std::any_of(accepted_types.begin(), accepted_types.end(), [this](std::string_view type) {
        return info_.database_type.find(type) != std::string::npos;
      });
  if (!accepted) {
    // The destructor does not run when the constructor throws: close here.
    MMDB_close(&db_);
    throw Error(
        fmt::format("MaxMind database {} has database_type \"{}\", expected a type containing {}",
                    path, info_.database_type, describe(accepted_types)));
  }
}

MmdbHandle::~MmdbHandle() { MMDB_close(&db_); }

}  // namespace fluxwatch::geo::detail
