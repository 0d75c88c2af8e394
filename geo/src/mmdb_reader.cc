#include "mmdb_reader.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

namespace fluxwatch::geo::detail {

namespace {

/// A lookup path for MMDB_aget_value: the keys, then nullptr.
template <std::size_t N>
using Path = std::array<const char*, N + 1>;

constexpr Path<1> kAsnNumber{"autonomous_system_number", nullptr};
constexpr Path<1> kAsnOrg{"autonomous_system_organization", nullptr};
constexpr Path<2> kCountryIso{"country", "iso_code", nullptr};
constexpr Path<3> kCountryName{"country", "names", "en", nullptr};
constexpr Path<3> kCityName{"city", "names", "en", nullptr};
constexpr Path<2> kLatitude{"location", "latitude", nullptr};
constexpr Path<2> kLongitude{"location", "longitude", nullptr};

/// Reads one value; sets `broken` on a data error (not on a key that is simply absent).
class EntryReader {
 public:
  explicit EntryReader(MMDB_entry_s entry) : entry_(entry) {}

  [[nodiscard]] bool broken() const noexcept { return broken_; }

  std::optional<std::string> string(const char* const* path) {
    const auto data = value(path);
    if (!data || data->type != MMDB_DATA_TYPE_UTF8_STRING) {
      return std::nullopt;
    }
    return std::string(data->utf8_string, data->data_size);
  }

  std::optional<std::uint32_t> uint32(const char* const* path) {
    const auto data = value(path);
    if (!data) {
      return std::nullopt;
    }
    // GeoLite2 stores uint32; accept the other unsigned widths other writers may choose.
    switch (data->type) {
      case MMDB_DATA_TYPE_UINT16:
        return data->uint16;
      case MMDB_DATA_TYPE_UINT32:
        return data->uint32;
      case MMDB_DATA_TYPE_UINT64:
        if (data->uint64 <= std::numeric_limits<std::uint32_t>::max()) {
          return static_cast<std::uint32_t>(data->uint64);
        }
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

  std::optional<double> real(const char* const* path) {
    const auto data = value(path);
    if (!data) {
      return std::nullopt;
    }
    if (data->type == MMDB_DATA_TYPE_DOUBLE) {
      return data->double_value;
    }
    if (data->type == MMDB_DATA_TYPE_FLOAT) {
      return static_cast<double>(data->float_value);
    }
    return std::nullopt;
  }

 private:
  std::optional<MMDB_entry_data_s> value(const char* const* path) {
    MMDB_entry_data_s data{};
    const int status = MMDB_aget_value(&entry_, &data, path);
    if (status == MMDB_SUCCESS) {
      if (!data.has_data) {
        return std::nullopt;
      }
      return data;
    }
    if (status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
      broken_ = true;
    }
    return std::nullopt;
  }

  MMDB_entry_s entry_;
  bool broken_ = false;
};

/// `value` when it is a number within [-limit, limit] (a coordinate), else nullopt.
std::optional<double> in_range(std::optional<double> value, double limit) {
  if (value && std::isfinite(*value) && *value >= -limit && *value <= limit) {
    return value;
  }
  return std::nullopt;
}

/// Finds the entry of `address`; nullopt with `status` set when there is none.
std::optional<MMDB_entry_s> find_entry(const MmdbHandle& db, const SocketAddress& address,
                                       ReadStatus& status) {
  int mmdb_error = MMDB_SUCCESS;
  const MMDB_lookup_result_s result = MMDB_lookup_sockaddr(db.get(), address.get(), &mmdb_error);
  if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
    status = ReadStatus::NotFound;
    return std::nullopt;
  }
  if (mmdb_error != MMDB_SUCCESS) {
    status = ReadStatus::Error;  // e.g. MMDB_CORRUPT_SEARCH_TREE_ERROR
    return std::nullopt;
  }
  if (!result.found_entry) {
    status = ReadStatus::NotFound;
    return std::nullopt;
  }
  status = ReadStatus::Found;
  return result.entry;
}

/// The GeoLite2-ASN fields of an entry, all read before any is stored.
struct AsnFields {
  explicit AsnFields(EntryReader& reader)
      : asn(reader.uint32(kAsnNumber.data())), org(reader.string(kAsnOrg.data())) {}
  void store_in(GeoRecord& record) && {
    record.asn = asn;
    record.as_org = std::move(org).value_or(std::string());
  }
  std::optional<std::uint32_t> asn;
  std::optional<std::string> org;
};

/// The GeoLite2-City fields of an entry, all read before any is stored.
struct CityFields {
  explicit CityFields(EntryReader& reader)
      : country_iso(reader.string(kCountryIso.data())),
        country_name(reader.string(kCountryName.data())),
        city(reader.string(kCityName.data())),
        latitude(in_range(reader.real(kLatitude.data()), 90.0)),
        longitude(in_range(reader.real(kLongitude.data()), 180.0)) {}
  void store_in(GeoRecord& record) && {
    record.country_iso = std::move(country_iso).value_or(std::string());
    record.country_name = std::move(country_name).value_or(std::string());
    record.city = std::move(city).value_or(std::string());
    record.latitude = latitude;
    record.longitude = longitude;
  }
  std::optional<std::string> country_iso;
  std::optional<std::string> country_name;
  std::optional<std::string> city;
  std::optional<double> latitude;
  std::optional<double> longitude;
};

/// Looks `address` up and reads its `Fields`; stores them in `record` only when the whole
/// entry read cleanly (a broken one leaves `record` unchanged: ReadStatus::Error).
template <typename Fields>
ReadStatus read_fields(const MmdbHandle& db, const SocketAddress& address, GeoRecord& record) {
  ReadStatus status = ReadStatus::NotFound;
  const auto entry = find_entry(db, address, status);
  if (!entry) {
    return status;
  }
  EntryReader reader(*entry);
  Fields fields(reader);
  if (reader.broken()) {
    return ReadStatus::Error;
  }
  std::move(fields).store_in(record);
  return ReadStatus::Found;
}

}  // namespace

ReadStatus read_asn(const MmdbHandle& db, const SocketAddress& address, GeoRecord& record) {
  return read_fields<AsnFields>(db, address, record);
}

ReadStatus read_city(const MmdbHandle& db, const SocketAddress& address, GeoRecord& record) {
  return read_fields<CityFields>(db, address, record);
}

}  // namespace fluxwatch::geo::detail
