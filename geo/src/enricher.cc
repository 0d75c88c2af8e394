#include "fluxwatch/geo/enricher.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "address.h"
#include "fluxwatch/common/error.h"
#include "fluxwatch/common/logging.h"
#include "mmdb_handle.h"
#include "mmdb_reader.h"

namespace fluxwatch::geo {

struct Enricher::Impl {
  /// One configured database: no handle when its path was empty or the file is missing.
  struct Source {
    std::filesystem::path path;
    std::string_view kind;  ///< "ASN" or "City"
    std::unique_ptr<detail::MmdbHandle> handle;
    std::uint64_t errors = 0;                  ///< lookups that hit corrupt data in this database
    std::optional<detail::FileStamp> refused;  ///< a changed file that could not be opened
  };

  explicit Impl(const GeoOptions& options) : cache_capacity_(options.cache_entries) {
    open(asn_, options.asn_database, "ASN");
    open(city_, options.city_database, "City");
  }

  /// Opens the database file of `source` (an ASN one, or a City or Country one), and
  /// decodes a sample of its data records (detail::verify_sample).
  static std::unique_ptr<detail::MmdbHandle> open_handle(const Source& source) {
    if (source.kind == "ASN") {
      return std::make_unique<detail::MmdbHandle>(
          source.path, std::initializer_list<std::string_view>{"ASN"},
          std::initializer_list<std::string_view>{"autonomous_system_number",
                                                  "autonomous_system_organization"});
    }
    return std::make_unique<detail::MmdbHandle>(
        source.path, std::initializer_list<std::string_view>{"City", "Country"},
        std::initializer_list<std::string_view>{"country", "city", "location", "registered_country",
                                                "continent"});
  }

  /// Opens `path` into `source` unless it is empty (not configured) or missing (warned).
  void open(Source& source, const std::filesystem::path& path, std::string_view kind) {
    source.path = path;
    source.kind = kind;
    if (path.empty()) {
      return;
    }
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    // When existence cannot be decided (ec set, e.g. EACCES on a parent), MMDB_open
    // reports the real problem.
    if (!exists && !ec) {
      std::string warning =
          fmt::format("{} database {} does not exist; its columns stay empty", kind, path);
      logger()->warn("geo: {}", warning);
      warnings_.push_back(std::move(warning));
      return;
    }
    source.handle = open_handle(source);
    const auto& info = source.handle->info();
    logger()->info("geo: opened database path={} type={} build_epoch={}", info.path,
                   info.database_type, info.build_epoch);
  }

  /// Reopens the database of `source` when its file changed on disk (a new inode, size or
  /// mtime: replaced, or overwritten in place). A file that cannot be opened (half copied,
  /// corrupt) is refused with a warning and the copy in memory stays in use until the file
  /// changes again. True when the database was reopened.
  bool reopen_if_changed(Source& source) {
    if (!source.handle) {
      return false;
    }
    const auto now = detail::stamp_of(source.path);
    if (!now || *now == source.handle->stamp() || (source.refused && *source.refused == *now)) {
      return false;  // unchanged, gone (the copy in memory stays valid), or already refused
    }
    const auto old = source.handle->info();
    try {
      source.handle = open_handle(source);
    } catch (const Error& error) {
      source.refused = now;
      logger()->warn(
          "geo: {} database {} changed on disk but cannot be used ({}); keeping build {} "
          "until the file changes again",
          source.kind, source.path, error.what(), old.build_epoch);
      return false;
    }
    source.refused.reset();
    source.errors = 0;
    const auto& info = source.handle->info();
    logger()->info(
        "geo: {} database path={} changed on disk; reopened type={} build_epoch={} "
        "(was {})",
        source.kind, info.path, info.database_type, info.build_epoch, old.build_epoch);
    return true;
  }

  void reopen_changed() {
    const bool asn = reopen_if_changed(asn_);
    const bool city = reopen_if_changed(city_);
    if (asn || city) {
      cache_.clear();  // the cached records came from the old data
    }
  }

  /// Runs `read` on `source`, counting (and logging the first of) broken lookups.
  template <typename Read>
  void read_from(Source& source, const detail::SocketAddress& address, const IpAddress& ip,
                 GeoRecord& record, Read read) {
    if (!source.handle) {
      return;
    }
    if (read(*source.handle, address, record) != detail::ReadStatus::Error) {
      return;
    }
    failed_ = true;
    ++source.errors;
    const auto& info = source.handle->info();
    if (source.errors == 1) {
      logger()->warn(
          "geo: corrupt data in database path={} at address={}; such addresses are not stored "
          "as unknown but looked up again later (further errors are logged at debug level)",
          info.path, ip.to_string());
    } else {
      logger()->debug("geo: corrupt data in database path={} at address={} errors={}", info.path,
                      ip.to_string(), source.errors);
    }
  }

  GeoRecord compute(const IpAddress& ip) {
    GeoRecord record;
    const auto address = detail::to_socket_address(ip);
    read_from(asn_, address, ip, record, detail::read_asn);
    read_from(city_, address, ip, record, detail::read_city);
    return record;
  }

  const GeoRecord& lookup(const IpAddress& ip) {
    failed_ = false;
    // ::ffff:a.b.c.d is looked up as a.b.c.d: one cache entry for both spellings.
    const IpAddress key = ip.unmapped();
    if (cache_capacity_ == 0) {
      ++misses_;
      last_ = compute(key);
      return last_;
    }
    if (const auto it = cache_.find(key); it != cache_.end()) {
      ++hits_;
      return it->second;
    }
    ++misses_;
    GeoRecord record = compute(key);
    if (failed_) {
      last_ = std::move(record);  // not cached: the next lookup tries again
      return last_;
    }
    if (cache_.size() >= cache_capacity_) {
      // Dropping everything is O(1) amortised and enough: a flux round revisits a working
      // set far smaller than the default capacity.
      cache_.clear();
    }
    return cache_.emplace(key, std::move(record)).first->second;
  }

  Source asn_;
  Source city_;
  std::vector<std::string> warnings_;
  std::size_t cache_capacity_;
  std::unordered_map<IpAddress, GeoRecord> cache_;
  GeoRecord last_;  ///< the result handed out when the cache is disabled
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  bool failed_ = false;  ///< the last lookup hit corrupt data
};

Enricher::Enricher(const GeoOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Enricher::~Enricher() = default;
Enricher::Enricher(Enricher&&) noexcept = default;
Enricher& Enricher::operator=(Enricher&&) noexcept = default;

const GeoRecord& Enricher::lookup(const IpAddress& address) { return impl_->lookup(address); }

const GeoRecord& Enricher::lookup(std::string_view address) {
  if (const auto parsed = IpAddress::parse(address)) {
    return impl_->lookup(*parsed);
  }
  impl_->failed_ = false;
  impl_->last_ = GeoRecord{};
  return impl_->last_;
}

std::optional<std::string> Enricher::build_tag() const {
  impl_->reopen_changed();
  std::string tag;
  for (const auto* source : {&impl_->asn_, &impl_->city_}) {
    if (!source->handle) {
      continue;
    }
    const auto& info = source->handle->info();
    if (!tag.empty()) {
      tag += ',';
    }
    tag += fmt::format("{}@{}", info.database_type, info.build_epoch);
  }
  if (tag.empty()) {
    return std::nullopt;
  }
  return tag;
}

std::string build_label(const std::optional<std::string>& build_tag) {
  return build_tag.value_or("none");
}

std::optional<DatabaseInfo> Enricher::asn_info() const {
  if (!impl_->asn_.handle) {
    return std::nullopt;
  }
  return impl_->asn_.handle->info();
}

std::optional<DatabaseInfo> Enricher::city_info() const {
  if (!impl_->city_.handle) {
    return std::nullopt;
  }
  return impl_->city_.handle->info();
}

const std::vector<std::string>& Enricher::warnings() const noexcept { return impl_->warnings_; }

bool Enricher::last_lookup_failed() const noexcept { return impl_->failed_; }

std::uint64_t Enricher::cache_hits() const noexcept { return impl_->hits_; }

std::uint64_t Enricher::cache_misses() const noexcept { return impl_->misses_; }

}  // namespace fluxwatch::geo
