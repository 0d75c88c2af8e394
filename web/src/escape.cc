#include "fluxwatch/web/escape.h"

#include <array>

namespace fluxwatch::web {
namespace {

void append_reference(std::string& out, char c) {
  switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
  }
}

bool forbidden_control(unsigned char c) { return c < 0x20 && c != '\t' && c != '\n'; }

}  // namespace

std::string html_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    if (forbidden_control(static_cast<unsigned char>(c)) && c != '\r') {
      continue;
    }
    append_reference(out, c);
  }
  return out;
}

std::string html_attr(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    if (forbidden_control(static_cast<unsigned char>(c))) {
      continue;
    }
    append_reference(out, c);
  }
  return out;
}

std::string url_component(std::string_view text) {
  static constexpr std::array<char, 17> kHex{"0123456789ABCDEF"};
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                            (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

std::string json_for_script(std::string_view json) {
  std::string out;
  out.reserve(json.size() + 16);
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      out += json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string csv_field(std::string_view text) {
  std::string value;
  if (!text.empty() &&
      (text.front() == '=' || text.front() == '+' || text.front() == '-' || text.front() == '@')) {
    value += '\'';
  }
  value += text;
  if (value.find_first_of(",\"\r\n") == std::string::npos) {
    return value;
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace fluxwatch::web
