#pragma once
/// A small SVG writer for `fluxwatch plot`: shapes and text with every attribute and text
/// escaped (escape.h), numbers written with two decimals, nothing else. The files open in
/// browsers, Inkscape and rsvg-convert.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fluxwatch::web {

class SvgDocument {
 public:
  SvgDocument(double width, double height);

  void rect(double x, double y, double width, double height, std::string_view fill,
            std::string_view stroke = "none");
  void line(double x1, double y1, double x2, double y2, std::string_view stroke,
            double stroke_width = 1);
  void circle(double cx, double cy, double r, std::string_view fill);
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke,
                double stroke_width = 1.5);
  enum class Anchor { Start, Middle, End };
  void text(double x, double y, std::string_view content, double size = 11,
            Anchor anchor = Anchor::Start, std::string_view fill = "#222");
  /// The same, turned 90 degrees counter-clockwise around (x, y) (a y-axis title).
  void vertical_text(double x, double y, std::string_view content, double size = 11);

  /// The whole document, with the XML declaration.
  [[nodiscard]] std::string str() const;

 private:
  double width_;
  double height_;
  std::string body_;
};

}  // namespace fluxwatch::web
