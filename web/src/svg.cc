#include "fluxwatch/web/svg.h"

#include <fmt/format.h>

#include "fluxwatch/web/escape.h"

namespace fluxwatch::web {
namespace {

std::string num(double value) {
  auto text = fmt::format("{:.2f}", value);
  // 12.50 -> 12.5, 3.00 -> 3: shorter files, same picture.
  while (text.back() == '0') {
    text.pop_back();
  }
  if (text.back() == '.') {
    text.pop_back();
  }
  return text == "-0" ? "0" : text;
}

const char* anchor_name(SvgDocument::Anchor anchor) {
  switch (anchor) {
    case SvgDocument::Anchor::Middle:
      return "middle";
    case SvgDocument::Anchor::End:
      return "end";
    case SvgDocument::Anchor::Start:
      break;
  }
  return "start";
}

}  // namespace

SvgDocument::SvgDocument(double width, double height) : width_(width), height_(height) {}

void SvgDocument::rect(double x, double y, double width, double height, std::string_view fill,
                       std::string_view stroke) {
  body_ += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"{}\"/>\n", num(x),
      num(y), num(width), num(height), html_attr(fill), html_attr(stroke));
}

void SvgDocument::line(double x1, double y1, double x2, double y2, std::string_view stroke,
                       double stroke_width) {
  body_ += fmt::format(
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
      num(x1), num(y1), num(x2), num(y2), html_attr(stroke), num(stroke_width));
}

void SvgDocument::circle(double cx, double cy, double r, std::string_view fill) {
  body_ += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>\n", num(cx), num(cy),
                       num(r), html_attr(fill));
}

void SvgDocument::polyline(const std::vector<std::pair<double, double>>& points,
                           std::string_view stroke, double stroke_width) {
  std::string coordinates;
  for (const auto& [x, y] : points) {
    coordinates += (coordinates.empty() ? "" : " ") + num(x) + "," + num(y);
  }
  body_ +=
      fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                  coordinates, html_attr(stroke), num(stroke_width));
}

void SvgDocument::text(double x, double y, std::string_view content, double size, Anchor anchor,
                       std::string_view fill) {
  body_ += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{}\" fill=\"{}\">{}</text>\n", num(x),
      num(y), num(size), anchor_name(anchor), html_attr(fill), html_text(content));
}

void SvgDocument::vertical_text(double x, double y, std::string_view content, double size) {
  body_ += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 {} {})\">{}</text>\n",
      num(x), num(y), num(size), num(x), num(y), html_text(content));
}

std::string SvgDocument::str() const {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n{}</svg>\n",
      num(width_), num(height_), num(width_), num(height_), body_);
}

}  // namespace fluxwatch::web
