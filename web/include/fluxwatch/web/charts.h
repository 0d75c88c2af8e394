#pragma once
/// The figures of a domain's flux, computed once from its history and drawn twice: as
/// Chart.js data in the page (pages.h) and as SVG by `fluxwatch plot` (svg_plot.h).

#include <cstdint>
#include <string>
#include <vector>

#include "fluxwatch/web/model.h"

namespace fluxwatch::web {

/// Addresses over time: one row per address, rows grouped by ASN (unknown ASN last), a mark
/// each time a lookup returned the address.
struct Timeline {
  struct Row {
    std::string address;
    std::optional<std::int64_t> asn;
    std::string country;
  };
  struct Mark {
    TimePoint when{};
    std::size_t row = 0;
  };
  std::vector<Row> rows;
  std::vector<Mark> marks;
};

/// Distinct addresses and ASNs seen after each lookup (a probe that returned addresses).
struct GrowthPoint {
  std::size_t lookup = 0;  ///< 1-based
  TimePoint when{};
  std::size_t addresses = 0;
  std::size_t asns = 0;
  std::int64_t min_ttl = 0;  ///< the smallest TTL of that lookup's address records
};

struct CountryCount {
  std::string country;  ///< "??" when unknown
  std::size_t addresses = 0;
};

[[nodiscard]] Timeline make_timeline(const std::vector<Sighting>& sightings);
[[nodiscard]] std::vector<GrowthPoint> make_growth(const std::vector<Sighting>& sightings);
/// Distinct addresses per country, most first.
[[nodiscard]] std::vector<CountryCount> count_countries(const std::vector<Sighting>& sightings);
/// The NS sets that differ from the previous one of the same zone (the first one included).
[[nodiscard]] std::vector<NsSet> ns_changes(const std::vector<NsSet>& history);
/// The SOA answers whose serial differs from the previous one of the same zone and server.
[[nodiscard]] std::vector<SoaSerial> soa_changes(const std::vector<SoaSerial>& history);

/// A stable colour for a country code ("#rrggbb"), the same in the page and in SVG files.
[[nodiscard]] std::string country_colour(const std::string& country);

/// "2026-11-22T18:40:11Z".
[[nodiscard]] std::string iso_time(TimePoint when);
/// Milliseconds since the epoch (the x values of the charts).
[[nodiscard]] std::int64_t epoch_ms(TimePoint when);

}  // namespace fluxwatch::web
