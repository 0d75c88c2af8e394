#pragma once
/// Internal: reads the ASN and City/Country fields of one address from an opened database.

#include "address.h"
#include "fluxwatch/common/types.h"
#include "mmdb_handle.h"

namespace fluxwatch::geo::detail {

/// What one database said about one address.
enum class ReadStatus {
  Found,     ///< the address is in the database; the fields it has were filled in
  NotFound,  ///< no entry for the address (or an IPv6 address in an IPv4-only database)
  Error,     ///< the database is broken at this address; the record was left untouched
};

/**
 * Fills `record.asn` and `record.as_org` (GeoLite2-ASN: autonomous_system_number,
 * autonomous_system_organization). Fields absent from the entry, or of an unexpected data
 * type, stay empty. Never throws on database problems: a corrupt search tree or data
 * section for this address gives ReadStatus::Error with `record` unchanged.
 */
[[nodiscard]] ReadStatus read_asn(const MmdbHandle& db, const SocketAddress& address,
                                  GeoRecord& record);

/**
 * Fills the country (country.iso_code, country.names.en), city (city.names.en) and
 * location (location.latitude, location.longitude) fields of `record`, as read_asn does.
 */
[[nodiscard]] ReadStatus read_city(const MmdbHandle& db, const SocketAddress& address,
                                   GeoRecord& record);

}  // namespace fluxwatch::geo::detail
