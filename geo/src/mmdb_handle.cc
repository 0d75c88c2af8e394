#include "mmdb_handle.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "fluxwatch/common/error.h"
#include "fluxwatch/common/unique_fd.h"

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

FileStamp stamp_from(const struct stat& st) {
  return FileStamp{
      static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
      static_cast<std::int64_t>(st.st_size),
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

/// Copies the regular file `path` into a new memfd and returns it with the file's stamp,
/// or nullopt (errno set) when the file cannot be read; throws when it changed while read.
std::optional<std::pair<int, FileStamp>> snapshot(const std::filesystem::path& path) {
  const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat before {};
  if (file.get() < 0 || ::fstat(file.get(), &before) != 0 || !S_ISREG(before.st_mode)) {
    return std::nullopt;  // MMDB_open on the path itself reports what is wrong
  }
  UniqueFd copy(::memfd_create("fluxwatch-mmdb", MFD_CLOEXEC));
  if (copy.get() < 0) {
    return std::nullopt;
  }
  std::array<char, 1 << 16> buffer{};
  for (;;) {
    const ssize_t got = ::read(file.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      throw Error(fmt::format("cannot read MaxMind database {}: {}", path, std::strerror(errno)));
    }
    if (got == 0) {
      break;
    }
    for (ssize_t written = 0; written < got;) {
      const ssize_t put =
          ::write(copy.get(), buffer.data() + written, static_cast<std::size_t>(got - written));
      if (put < 0 && errno != EINTR) {
        throw Error(fmt::format("cannot copy MaxMind database {} into memory: {}", path,
                                std::strerror(errno)));
      }
      written += std::max<ssize_t>(put, 0);
    }
  }
  struct stat after {};
  if (::fstat(file.get(), &after) != 0 || !(stamp_from(before) == stamp_from(after))) {
    throw Error(fmt::format(
        "MaxMind database {} changed while it was read (being copied?); it is read again once "
        "it stops changing",
        path));
  }
  const int fd = ::dup(copy.get());
  if (fd < 0) {
    return std::nullopt;
  }
  return std::make_pair(fd, stamp_from(before));
}

}  // namespace

std::optional<FileStamp> stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return stamp_from(st);
}

MmdbHandle::MmdbHandle(const std::filesystem::path& path,
                       std::initializer_list<std::string_view> accepted_types) {
  // MMDB_open on a directory fails in mmap with ENODEV ("No such device"): say it plainly.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    throw Error(fmt::format("cannot open MaxMind database {}: it is a directory", path));
  }
  // Map a private copy, not the file (see the class comment). Through /proc: MMDB_open
  // takes a file name only.
  const auto copy = snapshot(path);
  std::string to_open = path.string();
  std::optional<UniqueFd> copy_fd;
  if (copy) {
    copy_fd.emplace(copy->first);
    stamp_ = copy->second;
    to_open = fmt::format("/proc/self/fd/{}", copy->first);
  }
  errno = 0;
  const int status = MMDB_open(to_open.c_str(), MMDB_MODE_MMAP, &db_);
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
