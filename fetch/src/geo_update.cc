#include "fluxwatch/fetch/geo_update.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "fluxwatch/common/error.h"
#include "fluxwatch/geo/inspect.h"

namespace fluxwatch::fetch {
namespace {

struct ArchiveDeleter {
  void operator()(archive* handle) const noexcept { archive_read_free(handle); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveDeleter>;

/// Removes a temporary file when it goes out of scope (unless it was renamed away).
class TempFile {
 public:
  explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile(TempFile&&) = delete;
  TempFile& operator=(TempFile&&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// fsync of a file or directory, so the rename is durable (data first, then the name).
void sync_path(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(fmt::format("cannot open {} to sync it: {}", path, std::strerror(errno)));
  }
  const int status = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (status != 0) {
    throw Error(fmt::format("cannot sync {}: {}", path, std::strerror(saved)));
  }
}

std::string_view kind_name(GeoKind kind) { return kind == GeoKind::Asn ? "ASN" : "City"; }

}  // namespace

void unpack_mmdb(const std::filesystem::path& archive_path, const std::filesystem::path& out,
                 std::size_t max_bytes) {
  ArchiveReader reader(archive_read_new());
  if (!reader) {
    throw Error("libarchive: archive_read_new failed");
  }
  archive* a = reader.get();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_raw(a);  // a plain or only gzip-compressed file: one entry
  constexpr std::size_t kBlock = 64 * 1024;
  if (archive_read_open_filename(a, archive_path.c_str(), kBlock) != ARCHIVE_OK) {
    throw Error(fmt::format("cannot read the download {}: {}", archive_path,
                            archive_error_string(a) != nullptr ? archive_error_string(a) : "?"));
  }
  archive_entry* entry = nullptr;
  while (true) {
    const int status = archive_read_next_header(a, &entry);
    if (status == ARCHIVE_EOF) {
      break;
    }
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
      throw Error(fmt::format("the download is not a readable archive: {}",
                              archive_error_string(a) != nullptr ? archive_error_string(a) : "?"));
    }
    const bool raw = archive_format(a) == ARCHIVE_FORMAT_RAW;
    const char* name = archive_entry_pathname(entry);
    const std::string_view member = name != nullptr ? name : "";
    const bool wanted = raw || (archive_entry_filetype(entry) == AE_IFREG && member.size() > 5 &&
                                member.ends_with(".mmdb"));
    if (!wanted) {
      archive_read_data_skip(a);
      continue;
    }
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    if (!file) {
      throw Error(fmt::format("cannot write {}", out));
    }
    std::array<char, kBlock> buffer{};
    std::size_t total = 0;
    while (true) {
      const la_ssize_t got = archive_read_data(a, buffer.data(), buffer.size());
      if (got < 0) {
        throw Error(fmt::format("the download is damaged: {}", archive_error_string(a) != nullptr
                                                                   ? archive_error_string(a)
                                                                   : "?"));
      }
      if (got == 0) {
        break;
      }
      total += static_cast<std::size_t>(got);
      if (total > max_bytes) {
        throw Error(
            fmt::format("the unpacked database is larger than the limit of {} bytes", max_bytes));
      }
      file.write(buffer.data(), got);
    }
    file.close();
    if (!file) {
      throw Error(fmt::format("cannot write {} (disk full?)", out));
    }
    if (total == 0) {
      throw Error("the download is empty");
    }
    return;
  }
  throw Error("the archive holds no .mmdb file");
}

std::vector<GeoDownload> plan_geo_updates(const config::Config& config) {
  const auto& update = config.geoip.update;
  std::vector<GeoDownload> plan;
  const auto target_for = [&](GeoKind kind, std::string_view why) {
    const auto& path =
        kind == GeoKind::Asn ? config.geoip.asn_database : config.geoip.city_database;
    if (path.empty()) {
      throw ConfigError(fmt::format("{}: set geoip.{}_database to the file to install it as", why,
                                    kind == GeoKind::Asn ? "asn" : "city"));
    }
    return path;
  };
  if (!update.asn_url.empty()) {
    plan.push_back(
        {GeoKind::Asn, update.asn_url, target_for(GeoKind::Asn, "geoip.update.asn_url"), "", ""});
  }
  if (!update.city_url.empty()) {
    plan.push_back({GeoKind::City, update.city_url,
                    target_for(GeoKind::City, "geoip.update.city_url"), "", ""});
  }
  if (!update.edition_ids.empty()) {
    if (update.account_id.empty() || update.license_key.empty()) {
      throw ConfigError(
          "geoip.update.edition_ids: MaxMind downloads need geoip.update.account_id and "
          "geoip.update.license_key");
    }
    std::string base = update.maxmind_url;
    while (!base.empty() && base.back() == '/') {
      base.pop_back();
    }
    for (const auto& edition : update.edition_ids) {
      // Edition ids are letters, digits and '-' (GeoLite2-ASN, GeoIP2-City, ...).
      if (edition.empty() ||
          edition.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
                                    "mnopqrstuvwxyz0123456789-_") != std::string::npos) {
        throw ConfigError(
            fmt::format("geoip.update.edition_ids: '{}' is not an edition id", edition));
      }
      const auto kind = edition.find("ASN") != std::string::npos ? GeoKind::Asn : GeoKind::City;
      plan.push_back(
          {kind, fmt::format("{}/geoip/databases/{}/download?suffix=tar.gz", base, edition),
           target_for(kind, "geoip.update.edition_ids"), update.account_id, update.license_key});
    }
  }
  if (plan.empty()) {
    throw ConfigError(
        "geoip.update: nothing to download; set asn_url/city_url, or account_id, license_key "
        "and edition_ids");
  }
  return plan;
}

GeoUpdateResult update_geo_database(HttpClient& client, const GeoDownload& download) {
  GeoUpdateResult result;
  result.url = redact_url(download.url);
  result.target = download.target;
  const auto directory = download.target.has_parent_path() ? download.target.parent_path()
                                                           : std::filesystem::path(".");
  const auto stem = download.target.filename().string();
  const auto pid = std::to_string(::getpid());
  // Temporary files live next to the target: rename() is atomic only within a file system.
  const TempFile fetched(directory / ("." + stem + ".download-" + pid));
  const TempFile unpacked(directory / ("." + stem + ".new-" + pid));
  try {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    const BasicAuth auth{download.user, download.password};
    const auto fetch =
        client.download(download.url, fetched.path(), {}, download.user.empty() ? nullptr : &auth);
    if (!fetch.ok()) {
      result.error = fmt::format("download failed: {}", fetch.error);
      return result;
    }
    unpack_mmdb(fetched.path(), unpacked.path(), client.options().max_bytes);
    const auto info = geo::inspect_database(unpacked.path(), download.kind == GeoKind::Asn
                                                                 ? geo::DatabaseKind::Asn
                                                                 : geo::DatabaseKind::City);
    result.database_type = info.database_type;
    result.build_epoch = info.build_epoch;
    std::filesystem::permissions(unpacked.path(), std::filesystem::perms::owner_read |
                                                      std::filesystem::perms::owner_write |
                                                      std::filesystem::perms::group_read |
                                                      std::filesystem::perms::others_read);
    sync_path(unpacked.path(), false);
    std::filesystem::rename(unpacked.path(), download.target);
    sync_path(directory, true);
    result.replaced = true;
    spdlog::info("geo: installed {} database {} type={} build_epoch={}", kind_name(download.kind),
                 download.target, info.database_type, info.build_epoch);
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  return result;
}

}  // namespace fluxwatch::fetch
