#pragma once
/// `fluxwatch plot`: a domain's address timeline and growth curves as one SVG file, the
/// same figures as the domain page (charts.h), for papers and tickets.

#include <string>

#include "fluxwatch/web/model.h"

namespace fluxwatch::web {

/// The SVG document: title, window, verdict; the timeline (one row per address, grouped by
/// ASN, a dot per sighting coloured by country, with a country legend); distinct addresses
/// and ASNs against lookups.
[[nodiscard]] std::string plot_svg(const DomainHistory& history);

}  // namespace fluxwatch::web
