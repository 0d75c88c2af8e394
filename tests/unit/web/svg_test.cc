// The SVG writer (web/src/svg.cc) and `fluxwatch plot`'s figure (web/src/svg_plot.cc).
#include "fluxwatch/web/svg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "fluxwatch/web/svg_plot.h"

namespace fluxwatch::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(SvgDocument, WritesShapesWithShortNumbersAndEscapedText) {
  SvgDocument svg(100, 50);
  svg.rect(0, 0, 10.5, 3, "#fff");
  svg.circle(1.234, 2, 3, "red\" onload=\"x");
  svg.polyline({{0, 0}, {1.5, 2.25}}, "#000");
  svg.text(5, 5, "</text><script>alert(1)</script>");
  const auto out = svg.str();
  EXPECT_THAT(out, ::testing::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
  EXPECT_THAT(out, HasSubstr("width=\"100\" height=\"50\""));
  EXPECT_THAT(out, HasSubstr("<rect x=\"0\" y=\"0\" width=\"10.5\" height=\"3\""));
  EXPECT_THAT(
      out, HasSubstr("<circle cx=\"1.23\" cy=\"2\" r=\"3\" fill=\"red&quot; onload=&quot;x\"/>"));
  EXPECT_THAT(out, HasSubstr("points=\"0,0 1.5,2.25\""));
  EXPECT_THAT(out, HasSubstr("&lt;/text&gt;&lt;script&gt;"));
  EXPECT_THAT(out, Not(HasSubstr("<script")));
  EXPECT_THAT(out, ::testing::EndsWith("</svg>\n"));
}

TimePoint at(int seconds) { return TimePoint(std::chrono::seconds(1'790'000'000 + seconds)); }

TEST(PlotSvg, OneDotPerSightingPlusTheCountryLegendAndTwoCurves) {
  DomainHistory h;
  h.domain = "<flux>.test";
  h.verdict.emplace();
  h.verdict->label = "fast_flux";
  h.verdict->holz_score = 3.5;
  h.verdict->computed_at = at(900);
  for (int probe = 0; probe < 5; ++probe) {
    for (int i = 0; i < 3; ++i) {
      const int host = probe * 2 + i;  // overlapping sets: 11 distinct addresses
      h.sightings.push_back({probe, at(probe * 60), "A", 30, "10.0.0." + std::to_string(host),
                             64500 + host % 4, "", host % 2 == 0 ? "DE" : "US"});
    }
  }
  const auto svg = plot_svg(h);
  EXPECT_EQ(count(svg, "<circle"), 15U + 2U);  // 15 sightings + 2 legend swatches
  EXPECT_EQ(count(svg, "<polyline"), 2U);
  EXPECT_THAT(svg, HasSubstr("&lt;flux&gt;.test"));
  EXPECT_THAT(svg, HasSubstr("addresses (11)"));
  EXPECT_THAT(svg, HasSubstr("ASNs (4)"));
  EXPECT_THAT(svg, HasSubstr("5 lookups"));
  EXPECT_THAT(svg, HasSubstr("fast_flux (Holz flux-score 3.50"));
  // The growth curve has one vertex per lookup.
  const std::regex polyline("<polyline points=\"([^\"]*)\"");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(svg, match, polyline));
  EXPECT_EQ(count(match[1].str(), ","), 5U);
}

TEST(PlotSvg, EmptyWindowSaysSo) {
  DomainHistory h;
  h.domain = "quiet.test";
  const auto svg = plot_svg(h);
  EXPECT_THAT(svg, HasSubstr("no address in this window"));
  EXPECT_THAT(svg, HasSubstr("no lookup in this window"));
  EXPECT_THAT(svg, HasSubstr("not scored"));
}

}  // namespace
}  // namespace fluxwatch::web
