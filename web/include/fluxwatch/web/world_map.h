#pragma once
/// The domain page's world map, drawn on the server as inline SVG (no script, nothing
/// fetched): the countries of a domain's addresses filled on an offline outline of the
/// world (web/map/world-110m.tsv, derived from Natural Earth by web/map/gen-world-map.py
/// and compiled in), countries too small for the outline drawn as a dot.

#include <string>
#include <vector>

#include "fluxwatch/web/charts.h"

namespace fluxwatch::web {

/// The <figure> with the map: every country of `countries` (ISO codes, as count_countries()
/// gives them) marked with its number of distinct addresses (a darker fill for more), and
/// a caption naming the codes the map has no place for ("??", EU, ...).
[[nodiscard]] std::string world_map_figure(const std::vector<CountryCount>& countries);

}  // namespace fluxwatch::web
