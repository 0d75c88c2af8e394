// The world map of the domain page: the compiled-in outline (assets::kWorldMapTsv) with
// the domain's countries filled. Equal Earth projection, pre-projected by
// web/map/gen-world-map.py; nothing here projects, so nothing can drift from the outline.
#include "fluxwatch/web/world_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "assets.h"
#include "fluxwatch/web/escape.h"

namespace fluxwatch::web {
namespace {

struct CountryShape {
  std::string name;
  std::string path;  ///< SVG path data; empty for a country drawn as a dot
  double dot_x = 0;
  double dot_y = 0;
};

struct WorldOutline {
  std::string view_box;
  std::map<std::string, CountryShape, std::less<>> countries;  ///< by ISO code
};

/// Parses the TSV once: "#viewBox\tx y w h", then "CC\tname\tpath" or "CC\tname\t@x,y".
const WorldOutline& outline() {
  static const WorldOutline world = [] {
    WorldOutline parsed;
    std::string_view text = assets::kWorldMapTsv;
    while (!text.empty()) {
      const auto end = text.find('\n');
      const std::string_view line = text.substr(0, end);
      text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
      const auto tab1 = line.find('\t');
      const auto tab2 = line.find('\t', tab1 + 1);
      if (tab1 == std::string_view::npos) {
        continue;
      }
      if (line.starts_with("#viewBox")) {
        parsed.view_box = std::string(line.substr(tab1 + 1));
        continue;
      }
      if (tab2 == std::string_view::npos) {
        continue;
      }
      CountryShape shape;
      shape.name = std::string(line.substr(tab1 + 1, tab2 - tab1 - 1));
      const std::string shape_text(line.substr(tab2 + 1));
      if (shape_text.starts_with("@")) {
        const auto comma = shape_text.find(',');
        shape.dot_x = std::stod(shape_text.substr(1, comma - 1));
        shape.dot_y = std::stod(shape_text.substr(comma + 1));
      } else {
        shape.path = shape_text;
      }
      parsed.countries.emplace(std::string(line.substr(0, tab1)), std::move(shape));
    }
    return parsed;
  }();
  return world;
}

/// Four shades by share of the busiest country: a class from a fixed list (no inline style,
/// so the Content-Security-Policy stays strict).
const char* shade(std::size_t addresses, std::size_t most) {
  const double share = most == 0 ? 0 : static_cast<double>(addresses) / static_cast<double>(most);
  return share > 0.75 ? "m4" : share > 0.5 ? "m3" : share > 0.25 ? "m2" : "m1";
}

}  // namespace

std::string world_map_figure(const std::vector<CountryCount>& countries) {
  const WorldOutline& world = outline();
  std::map<std::string, std::size_t, std::less<>> marked;
  std::vector<std::string> off_map;
  std::size_t most = 0;
  for (const auto& count : countries) {
    if (world.countries.contains(count.country)) {
      marked[count.country] = count.addresses;
      most = std::max(most, count.addresses);
    } else {
      off_map.push_back(fmt::format("{} ({})", count.country, count.addresses));
    }
  }
  std::string svg = "<svg class=\"world-map\" id=\"world-map\" viewBox=\"" +
                    html_attr(world.view_box) +
                    "\" role=\"img\" aria-label=\"Countries of the addresses\">";
  std::string dots;  // drawn last, over the outlines
  for (const auto& [code, shape] : world.countries) {
    const auto found = marked.find(code);
    if (found == marked.end()) {
      if (!shape.path.empty()) {
        svg += "<path class=\"land\" d=\"" + shape.path + "\"/>";
      }
      continue;
    }
    const std::string attributes =
        fmt::format(" data-country=\"{}\" data-addresses=\"{}\"", html_attr(code), found->second);
    const std::string title = "<title>" + html_text(code) + " " + html_text(shape.name) + ": " +
                              std::to_string(found->second) + " address" +
                              (found->second == 1 ? "" : "es") + "</title>";
    if (shape.path.empty()) {
      dots += fmt::format("<circle class=\"marked {}\"{} cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\">",
                          shade(found->second, most), attributes, shape.dot_x, shape.dot_y) +
              title + "</circle>";
    } else {
      svg += fmt::format("<path class=\"land marked {}\"{} d=\"", shade(found->second, most),
                         attributes) +
             shape.path + "\">" + title + "</path>";
    }
  }
  svg += dots + "</svg>";
  std::string caption =
      fmt::format("Countries of the addresses in this window ({} on the map)", marked.size());
  if (!off_map.empty()) {
    std::string list;
    for (const auto& item : off_map) {
      list += (list.empty() ? "" : ", ") + item;
    }
    caption += "; not on the map: " + list;
  }
  return "<figure class=\"map\" id=\"fig-world-map\">" + svg + "<figcaption>" + html_text(caption) +
         ". Outline: Natural Earth (public domain), via world-atlas (ISC).</figcaption></figure>";
}

}  // namespace fluxwatch::web
