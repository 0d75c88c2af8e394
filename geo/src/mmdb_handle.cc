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
#include <memory>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

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

/// Frees an MMDB_get_entry_data_list() result.
struct EntryDataListFree {
  void operator()(MMDB_entry_data_list_s* list) const noexcept { MMDB_free_entry_data_list(list); }
};

/// How much of the search tree the start-up check walks, and how many data records it
/// decodes: cheap (well under a millisecond), and enough to catch a damaged data section.
constexpr std::uint32_t kSampleNodes = 20000;
constexpr std::size_t kSampleRecords = 64;

/// True when the decoded map at `list` (a top-level map) has one of `keys` at its top level.
bool has_top_level_key(const MMDB_entry_data_list_s* list,
                       std::initializer_list<std::string_view> keys) {
  if (list == nullptr || list->entry_data.type != MMDB_DATA_TYPE_MAP) {
    return false;
  }
  // A flattened map: key, value (which may span several entries), key, ... Only the keys
  // directly under the root are compared; nested values are skipped by their sizes.
  std::uint32_t pairs = list->entry_data.data_size;
  const MMDB_entry_data_list_s* node = list->next;
  while (pairs-- > 0 && node != nullptr) {
    if (node->entry_data.type == MMDB_DATA_TYPE_UTF8_STRING) {
      const std::string_view key(node->entry_data.utf8_string, node->entry_data.data_size);
      if (std::ranges::find(keys, key) != keys.end()) {
        return true;
      }
    }
    // Skip the key, then the whole value (maps and arrays count their children).
    node = node->next;
    std::uint64_t pending = 1;
    while (pending > 0 && node != nullptr) {
      --pending;
      if (node->entry_data.type == MMDB_DATA_TYPE_MAP) {
        pending += 2ULL * node->entry_data.data_size;
      } else if (node->entry_data.type == MMDB_DATA_TYPE_ARRAY) {
        pending += node->entry_data.data_size;
      }
      node = node->next;
    }
  }
  return false;
}

}  // namespace

std::optional<FileStamp> stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return stamp_from(st);
}

void verify_sample(const MMDB_s& db, const std::filesystem::path& path,
                   std::initializer_list<std::string_view> expected_keys) {
  // Depth-first over the first kSampleNodes nodes of the search tree: every data record
  // they point to is decoded like a lookup would. A data section that is damaged (or zeroed:
  // then every record reads as an empty map) fails here instead of at the first lookup.
  std::vector<std::uint32_t> stack{0};
  std::vector<std::uint64_t> decoded;
  std::uint32_t visited = 0;
  bool found_expected = expected_keys.size() == 0;
  const auto fail = [&](const std::string& why) {
    throw ConfigError(fmt::format(
        "MaxMind database {} is corrupt: {} (replace it, e.g. with `fluxwatch geo update`)", path,
        why));
  };
  while (!stack.empty() && visited < kSampleNodes && decoded.size() < kSampleRecords) {
    const std::uint32_t node_number = stack.back();
    stack.pop_back();
    ++visited;
    MMDB_search_node_s node{};
    if (const int status = MMDB_read_node(&db, node_number, &node); status != MMDB_SUCCESS) {
      fail(fmt::format("search tree node {}: {}", node_number, MMDB_strerror(status)));
    }
    // Right first on the stack, so the walk goes left (low addresses) first.
    for (const auto& [type, record, entry] :
         {std::tuple{node.right_record_type, node.right_record, node.right_record_entry},
          std::tuple{node.left_record_type, node.left_record, node.left_record_entry}}) {
      switch (type) {
        case MMDB_RECORD_TYPE_SEARCH_NODE:
          stack.push_back(static_cast<std::uint32_t>(record));
          break;
        case MMDB_RECORD_TYPE_DATA: {
          if (std::ranges::find(decoded, entry.offset) != decoded.end()) {
            break;
          }
          decoded.push_back(entry.offset);
          MMDB_entry_s sample = entry;
          MMDB_entry_data_list_s* list = nullptr;
          const int status = MMDB_get_entry_data_list(&sample, &list);
          const std::unique_ptr<MMDB_entry_data_list_s, EntryDataListFree> owned(list);
          if (status != MMDB_SUCCESS) {
            fail(fmt::format("data record at offset {}: {}", entry.offset, MMDB_strerror(status)));
          }
          found_expected = found_expected || has_top_level_key(list, expected_keys);
          break;
        }
        case MMDB_RECORD_TYPE_INVALID:
          fail(fmt::format("search tree node {} points outside the file", node_number));
          break;
        default:  // MMDB_RECORD_TYPE_EMPTY: no data for that network
          break;
      }
    }
  }
  if (!decoded.empty() && !found_expected) {
    fail(fmt::format("none of {} sampled records holds any of the fields {}", decoded.size(),
                     describe(expected_keys)));
  }
}

MmdbHandle::MmdbHandle(const std::filesystem::path& path,
                       std::initializer_list<std::string_view> accepted_types,
                       std::initializer_list<std::string_view> expected_keys, bool verify) {
  // MMDB_open on a directory fails in mmap with ENODEV ("No such device"): say it plainly.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    throw ConfigError(fmt::format("cannot open MaxMind database {}: it is a directory", path));
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
    throw ConfigError(fmt::format("cannot open MaxMind database {}: {}", path, detail));
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
    throw ConfigError(
        fmt::format("MaxMind database {} has database_type \"{}\", expected a type containing {}",
                    path, info_.database_type, describe(accepted_types)));
  }
  if (verify) {
    try {
      verify_sample(db_, path, expected_keys);
    } catch (...) {
      MMDB_close(&db_);  // as above: no destructor after a throwing constructor
      throw;
    }
  }
}

MmdbHandle::~MmdbHandle() { MMDB_close(&db_); }

}  // namespace fluxwatch::geo::detail
