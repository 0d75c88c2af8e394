#pragma once
/// Per-domain features of a probe history over a time window: the inputs of the Holz et al.
/// flux-score and of the rule-based classifier. compute_features() is the reference
/// implementation in C++ (unit-tested on hand-made histories); ScoreStore computes the same
/// features for every domain at once in one streaming pass (FeatureScan, feature_scan.h;
/// docs/queries.md, "Features"), and the
/// integration tests check that both agree.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/ip_address.h"
#include "fluxwatch/common/soa_record.h"
#include "fluxwatch/common/types.h"

namespace fluxwatch::scoring {

/// One stored resource record, as in the `records` table.
struct Record {
  Section section = Section::Answer;
  std::string owner;
  std::uint16_t type = 0;  ///< RrType value or any other type number
  std::int64_t ttl = 0;
  std::optional<IpAddress> address;  ///< A/AAAA: the address, else empty
  std::string target;                ///< NS/CNAME target, SOA "mname rname serial ...", else empty
  std::optional<SoaRecord> soa;      ///< SOA: its fields (from `target`), else empty
  bool operator==(const Record&) const = default;

  [[nodiscard]] bool is(RrType rrtype) const noexcept {
    return type == static_cast<std::uint16_t>(rrtype);
  }

  /// A record from the text of its stored columns (section and type as section_name() and
  /// rrtype_name() spell them, `address` as PostgreSQL writes an inet host: see
  /// parse_inet_host, an SOA's `target` as SoaRecord::parse reads it): the one place
  /// scoring turns a stored record into values. nullopt
  /// for a section that is not one of the three.
  [[nodiscard]] static std::optional<Record> from_columns(std::string_view section,
                                                          std::string owner, std::string_view rtype,
                                                          std::int64_t ttl,
                                                          std::string_view address,
                                                          std::string target);
};

/// A stored record type ("A", "MX", "TYPE65280", as rrtype_name() spells it) as its number;
/// 0 (reserved, never stored) for text that is not one.
[[nodiscard]] std::uint16_t stored_rrtype(std::string_view text);

/// An inet column's text for a host address: "10.0.0.1", "2001:db8::1", or either with
/// the full-length "/32" or "/128" suffix; nullopt for a network or anything else.
[[nodiscard]] std::optional<IpAddress> parse_inet_host(std::string_view text);

/// One stored probe with its records, as in the `probes` table.
struct StoredProbe {
  std::int64_t probe_id = 0;
  std::string qname;
  RrType qtype = RrType::A;
  std::chrono::system_clock::time_point sent_at{};
  Outcome outcome = Outcome::NoError;
  std::vector<Record> records;
  bool operator==(const StoredProbe&) const = default;
};

/// What the GeoIP/ASN enrichment says about an address (all optional).
struct AddressInfo {
  std::optional<std::int64_t> asn;
  std::optional<std::string> country;  ///< ISO 3166-1 alpha-2
  std::optional<double> latitude;
  std::optional<double> longitude;
  bool operator==(const AddressInfo&) const = default;
};

/// Address -> enrichment. Addresses missing here count as unknown.
using GeoTable = std::map<IpAddress, AddressInfo>;

/**
 * The features of one domain over one window. Counts are 0 and optional values empty when
 * nothing was observed. "Address records" are the answer-section A records of A probes and
 * AAAA records of AAAA probes (after any CNAME chain); a "lookup" is one such probe with at
 * least one address record.
 */
struct Features {
  std::int64_t probes = 0;            ///< every probe of the domain in the window
  std::int64_t address_probes = 0;    ///< probes of type A or AAAA (answered or not)
  std::int64_t answered_lookups = 0;  ///< max over A, AAAA of probes with >= 1 address
  std::int64_t max_answer_size = 0;   ///< most distinct addresses in one lookup

  std::int64_t ipv4_addresses = 0;  ///< distinct A addresses (Holz nA)
  std::int64_t ipv6_addresses = 0;  ///< distinct AAAA addresses
  std::int64_t asns = 0;            ///< distinct known ASNs behind all addresses
  std::int64_t ipv4_asns = 0;       ///< distinct known ASNs behind the A addresses (Holz nASN)
  std::int64_t countries = 0;       ///< distinct known countries
  std::int64_t prefixes = 0;        ///< distinct IPv4 /16 plus IPv6 /32 prefixes
  /// Shannon entropy (bits) of the countries of the distinct addresses with a known country.
  std::optional<double> country_entropy;
  /// Mean great-circle distance (km) of the distinct addresses with coordinates from their
  /// spherical centroid.
  std::optional<double> geo_dispersion_km;

  std::optional<std::int64_t> min_ttl;     ///< over address records
  std::optional<std::int64_t> median_ttl;  ///< lower median over address records
  std::optional<std::int64_t> ns_min_ttl;  ///< over answer NS records
  std::optional<std::int64_t> ns_median_ttl;

  std::int64_t ns_names = 0;      ///< distinct NS targets in answers (Holz nNS)
  std::int64_t ns_addresses = 0;  ///< distinct A/AAAA addresses of those NS names, seen anywhere
  std::int64_t ns_asns = 0;       ///< distinct known ASNs behind the NS addresses

  /// Mean, over consecutive lookups of the same type, of the fraction of a lookup's addresses
  /// that the previous lookup did not return.
  std::optional<double> new_address_ratio;
  /// Fraction of consecutive lookups of the same type whose address sets differ.
  std::optional<double> set_change_ratio;
  /// Fraction of consecutive NS answers (non-empty) whose NS name sets differ.
  std::optional<double> ns_change_ratio;
  /// How often the SOA serial differed from the previously recorded one; empty if no SOA
  /// record was recorded.
  std::optional<std::int64_t> soa_serial_changes;

  [[nodiscard]] std::int64_t addresses() const noexcept { return ipv4_addresses + ipv6_addresses; }
  bool operator==(const Features&) const = default;
};

/**
 * Features of one domain from its probes in the window (`domain_probes`, any order) and the
 * probes of the window that can tell the addresses of its NS names (`other_probes`: e.g.
 * probes of the NS host names; their answer and additional A/AAAA records owned by an NS
 * name count). `geo` enriches addresses.
 */
[[nodiscard]] Features compute_features(const std::vector<StoredProbe>& domain_probes,
                                        const std::vector<StoredProbe>& other_probes,
                                        const GeoTable& geo);

/// The network an address counts towards in Features::prefixes: a.b.c.d -> a.b.0.0 (its /16),
/// IPv6 -> its /32 (2001:db8:1::5 -> 2001:db8::).
[[nodiscard]] IpAddress address_prefix(const IpAddress& address);

/// Shannon entropy in bits of a distribution given as counts (0 for one class or none).
[[nodiscard]] double entropy_bits(const std::vector<std::int64_t>& counts);

/// A point on the earth in degrees.
struct LatLon {
  double latitude = 0;
  double longitude = 0;
};

/// Mean great-circle distance (km, mean earth radius 6371.0088 km) of `points` from their
/// spherical centroid (the normalised mean of their unit vectors); nullopt if empty.
[[nodiscard]] std::optional<double> mean_distance_from_centroid_km(
    const std::vector<LatLon>& points);

/// Great-circle distance in km between two points.
[[nodiscard]] double great_circle_km(LatLon a, LatLon b);

}  // namespace fluxwatch::scoring
