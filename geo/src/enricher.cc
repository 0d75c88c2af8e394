#include "fluxwatch/geo/enricher.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "address.h"
#include "fluxwatch/common/error.h"
#include "mmdb_handle.h"
#include "mmdb_reader.h"

namespace fluxwatch::geo {

namespace {

/// The "geo" logger when the application registered one, else spdlog's default logger.
std::shared_ptr<spdlog::logger> logger() {
  if (auto named = spdlog::get("geo")) {
    return named;
  }
  return spdlog::default_logger();
}

}  // namespace

struct Enricher::Impl {
  /// One configured database: absent when its path was empty or the file is missing.
  struct Source {
    std::optional<detail::MmdbHandle> handle;
    std::uint64_t errors = 0;  ///< lookups that hit corrupt data in this database
  };

  explicit Impl(const GeoOptions& options) : cache_capacity_(options.cache_entries) {
    open(asn_, options.asn_database, "ASN", {"ASN"},
         {"autonomous_system_number", "autonomous_system_organization"});
    open(city_, options.city_database, "City", {"City", "Country"},
         {"country", "city", "location", "registered_country", "continent"});
  }

  /// Opens `path` into `source` unless it is empty (not configured) or missing (warned).
  void open(Source& source, const std::filesystem::path& path, std::string_view kind,
            std::initializer_list<std::string_view> accepted_types,
            std::initializer_list<std::string_view> expected_keys) {
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
    source.handle.emplace(path, accepted_types, expected_keys);
    const auto& info = source.handle->info();
    logger()->info("geo: opened database path={} type={} build_epoch={}", info.path,
                   info.database_type, info.build_epoch);
  }

  /// Runs `read` on `source`, counting (and logging the first of) broken lookups.
  template <typename Read>
  void read_from(Source& source, const detail::SocketAddress& address, std::string_view text,
                 GeoRecord& record, Read read) {
    if (!source.handle) {
      return;
    }
    if (read(*source.handle, address, record) != detail::ReadStatus::Error) {
      return;
    }
    ++source.errors;
    const auto& info = source.handle->info();
    if (source.errors == 1) {
      logger()->warn(
          "geo: corrupt data in database path={} at address={}; its columns stay empty for "
          "such addresses (further errors are logged at debug level)",
          info.path, text);
    } else {
      logger()->debug("geo: corrupt data in database path={} at address={} errors={}", info.path,
                      text, source.errors);
    }
  }

  GeoRecord compute(std::string_view text) {
    GeoRecord record;
    const auto address = detail::parse_address(text);
    if (!address) {
      return record;
    }
    read_from(asn_, *address, text, record, detail::read_asn);
    read_from(city_, *address, text, record, detail::read_city);
    return record;
  }

  const GeoRecord& lookup(std::string_view text) {
    if (cache_capacity_ == 0) {
      ++misses_;
      last_ = compute(text);
      return last_;
    }
    std::string key(text);
    if (const auto it = cache_.find(key); it != cache_.end()) {
      ++hits_;
      return it->second;
    }
    ++misses_;
    GeoRecord record = compute(text);
    if (cache_.size() >= cache_capacity_) {
      // Dropping everything is O(1) amortised and enough: a flux round revisits a working
      // set far smaller than the default capacity.
      cache_.clear();
    }
    return cache_.emplace(std::move(key), std::move(record)).first->second;
  }

  Source asn_;
  Source city_;
  std::vector<std::string> warnings_;
  std::size_t cache_capacity_;
  std::unordered_map<std::string, GeoRecord> cache_;
  GeoRecord last_;  ///< the result handed out when the cache is disabled
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

Enricher::Enricher(const GeoOptions& options) : impl_(std::make_unique<Impl>(options)) {}
Enricher::~Enricher() = default;
Enricher::Enricher(Enricher&&) noexcept = default;
Enricher& Enricher::operator=(Enricher&&) noexcept = default;

const GeoRecord& Enricher::lookup(std::string_view address) { return impl_->lookup(address); }

std::string Enricher::build_tag() const {
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
  return tag.empty() ? "none" : tag;
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

std::uint64_t Enricher::cache_hits() const noexcept { return impl_->hits_; }

std::uint64_t Enricher::cache_misses() const noexcept { return impl_->misses_; }

}  // namespace fluxwatch::geo
