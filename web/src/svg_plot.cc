#include "fluxwatch/web/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "fluxwatch/web/charts.h"
#include "fluxwatch/web/svg.h"

namespace fluxwatch::web {
namespace {

constexpr double kWidth = 1000;
constexpr double kLeft = 190;   // room for "AS64500 2001:db8::1 XX" row labels
constexpr double kRight = 110;  // room for the country legend
constexpr double kPlotWidth = kWidth - kLeft - kRight;

/// Maps [low, high] onto [out_low, out_high]; a zero-width range maps to the middle.
double scale(double value, double low, double high, double out_low, double out_high) {
  if (high <= low) {
    return (out_low + out_high) / 2;
  }
  return out_low + (value - low) / (high - low) * (out_high - out_low);
}

std::string short_time(TimePoint when) { return iso_time(when).substr(0, 16); }

void frame(SvgDocument& svg, double top, double height) {
  svg.rect(kLeft, top, kPlotWidth, height, "none", "#888888");
}

double draw_timeline(SvgDocument& svg, const DomainHistory& h, double top) {
  const auto timeline = make_timeline(h.sightings);
  svg.text(kLeft, top, "Addresses over time (rows grouped by ASN, coloured by country)", 13);
  top += 10;
  const double row_height = timeline.rows.size() > 120 ? 4 : 9;
  const double height = std::max(60.0, row_height * static_cast<double>(timeline.rows.size()));
  frame(svg, top, height);
  if (timeline.marks.empty()) {
    svg.text(kLeft + kPlotWidth / 2, top + height / 2, "no address in this window", 12,
             SvgDocument::Anchor::Middle);
    return top + height + 30;
  }
  const auto first = timeline.marks.front().when;
  const auto last = timeline.marks.back().when;
  const auto x_of = [&](TimePoint when) {
    return scale(static_cast<double>(epoch_ms(when)), static_cast<double>(epoch_ms(first)),
                 static_cast<double>(epoch_ms(last)), kLeft + 6, kLeft + kPlotWidth - 6);
  };
  const auto y_of = [&](std::size_t row) {
    return top + row_height * (static_cast<double>(row) + 0.5);
  };
  for (std::size_t i = 0; i < timeline.rows.size(); ++i) {
    const auto& row = timeline.rows[i];
    const bool new_asn = i == 0 || timeline.rows[i - 1].asn != row.asn;
    if (new_asn && i > 0) {
      svg.line(kLeft, top + row_height * static_cast<double>(i), kLeft + kPlotWidth,
               top + row_height * static_cast<double>(i), "#dddddd");
    }
    if (row_height >= 8) {
      svg.text(kLeft - 4, y_of(i) + 3,
               (row.asn ? fmt::format("AS{} ", *row.asn) : std::string("AS? ")) + row.address +
                   (row.country.empty() ? "" : " " + row.country),
               7.5, SvgDocument::Anchor::End);
    } else if (new_asn) {
      svg.text(kLeft - 4, y_of(i) + 3, row.asn ? fmt::format("AS{}", *row.asn) : "AS?", 7.5,
               SvgDocument::Anchor::End);
    }
  }
  for (const auto& mark : timeline.marks) {
    svg.circle(x_of(mark.when), y_of(mark.row), std::min(3.0, row_height / 2),
               country_colour(timeline.rows[mark.row].country));
  }
  svg.text(kLeft, top + height + 14, short_time(first), 10);
  svg.text(kLeft + kPlotWidth, top + height + 14, short_time(last), 10, SvgDocument::Anchor::End);
  // Legend: one swatch per country.
  std::map<std::string, std::size_t> countries;
  for (const auto& row : timeline.rows) {
    ++countries[row.country.empty() ? "??" : row.country];
  }
  double legend_y = top + 8;
  for (const auto& [country, count] : countries) {
    svg.circle(kLeft + kPlotWidth + 14, legend_y - 3, 4, country_colour(country));
    svg.text(kLeft + kPlotWidth + 22, legend_y, fmt::format("{} ({})", country, count), 10);
    legend_y += 13;
  }
  return top + std::max(height, legend_y - top) + 36;
}

double draw_growth(SvgDocument& svg, const DomainHistory& h, double top) {
  const auto growth = make_growth(h.sightings);
  svg.text(kLeft, top, "Distinct addresses and ASNs against lookups", 13);
  top += 10;
  const double height = 240;
  frame(svg, top, height);
  if (growth.empty()) {
    svg.text(kLeft + kPlotWidth / 2, top + height / 2, "no lookup in this window", 12,
             SvgDocument::Anchor::Middle);
    return top + height + 30;
  }
  const double max_y = static_cast<double>(growth.back().addresses);
  const double lookups = static_cast<double>(growth.size());
  std::vector<std::pair<double, double>> addresses;
  std::vector<std::pair<double, double>> asns;
  for (const auto& point : growth) {
    const double x =
        scale(static_cast<double>(point.lookup), 1, lookups, kLeft + 6, kLeft + kPlotWidth - 6);
    addresses.emplace_back(
        x, scale(static_cast<double>(point.addresses), 0, max_y, top + height - 4, top + 8));
    asns.emplace_back(x,
                      scale(static_cast<double>(point.asns), 0, max_y, top + height - 4, top + 8));
  }
  svg.polyline(addresses, "#1f77b4", 2);
  svg.polyline(asns, "#d62728", 2);
  for (int tick = 0; tick <= 4; ++tick) {
    const double value = max_y * tick / 4;
    const double y = scale(value, 0, max_y, top + height - 4, top + 8);
    svg.line(kLeft - 3, y, kLeft, y, "#888888");
    svg.text(kLeft - 6, y + 3, fmt::format("{:.0f}", value), 10, SvgDocument::Anchor::End);
  }
  svg.vertical_text(kLeft - 40, top + height / 2, "distinct", 11);
  svg.text(kLeft, top + height + 14, "1", 10);
  svg.text(kLeft + kPlotWidth, top + height + 14, fmt::format("{} lookups", growth.size()), 10,
           SvgDocument::Anchor::End);
  svg.line(kLeft + kPlotWidth + 8, top + 10, kLeft + kPlotWidth + 22, top + 10, "#1f77b4", 2);
  svg.text(kLeft + kPlotWidth + 26, top + 13,
           fmt::format("addresses ({})", growth.back().addresses), 10);
  svg.line(kLeft + kPlotWidth + 8, top + 26, kLeft + kPlotWidth + 22, top + 26, "#d62728", 2);
  svg.text(kLeft + kPlotWidth + 26, top + 29, fmt::format("ASNs ({})", growth.back().asns), 10);
  return top + height + 30;
}

}  // namespace

std::string plot_svg(const DomainHistory& h) {
  // Two passes: the first measures the height, the second draws on a canvas of that size.
  const auto draw = [&h](SvgDocument& svg) {
    svg.text(20, 28, h.domain, 18);
    std::string subtitle =
        h.verdict ? fmt::format("{} (Holz flux-score {:.2f}, scored {})", h.verdict->label,
                                h.verdict->holz_score, iso_time(h.verdict->computed_at))
                  : std::string("not scored");
    subtitle +=
        fmt::format("; window {} to {}", h.window.since ? iso_time(*h.window.since) : "first probe",
                    h.window.until ? iso_time(*h.window.until) : "now");
    svg.text(20, 46, subtitle, 11, SvgDocument::Anchor::Start, "#555555");
    double y = draw_timeline(svg, h, 80);
    y = draw_growth(svg, h, y);
    return y;
  };
  SvgDocument measure(kWidth, 0);
  const double height = draw(measure);
  SvgDocument svg(kWidth, height);
  draw(svg);
  return svg.str();
}

}  // namespace fluxwatch::web
