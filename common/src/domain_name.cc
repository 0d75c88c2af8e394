#include "fluxwatch/common/domain_name.h"

#include <fmt/format.h>
#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "fluxwatch/common/text.h"

namespace fluxwatch {
namespace {

constexpr std::size_t kMaxNameLength = 253;  // RFC 1035 2.3.4: 255 octets on the wire
constexpr std::size_t kMaxLabelLength = 63;

bool is_ascii(std::string_view text) {
  return std::ranges::all_of(text, [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Checks the RFC 1035 / RFC 1123 shape of an ASCII, lower-case name.
std::optional<NameError> check_hostname(std::string_view name) {
  if (name.size() > kMaxNameLength) {
    return NameError{
        fmt::format("name is {} characters long, the limit is {}", name.size(), kMaxNameLength)};
  }
  std::size_t labels = 0;
  std::string_view last_label;
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto dot = name.find('.', start);
    const auto end = dot == std::string_view::npos ? name.size() : dot;
    const auto label = name.substr(start, end - start);
    if (label.empty()) {
      return NameError{"empty label (two dots in a row, or a leading dot)"};
    }
    if (label.size() > kMaxLabelLength) {
      return NameError{fmt::format("label '{}...' is {} characters long, the limit is {}",
                                   label.substr(0, 20), label.size(), kMaxLabelLength)};
    }
    const auto* const bad = std::ranges::find_if_not(label, is_label_char);
    if (bad != label.end()) {
      const auto code = static_cast<unsigned char>(*bad);
      return NameError{code >= 0x20 && code < 0x7f
                           ? fmt::format("character '{}' is not allowed in a host name", *bad)
                           : fmt::format("byte 0x{:02x} is not allowed in a host name", code)};
    }
    if (label.front() == '-' || label.back() == '-') {
      return NameError{fmt::format("label '{}' starts or ends with '-'", label)};
    }
    ++labels;
    last_label = label;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (labels < 2) {
    return NameError{"not a domain name: it has no dot"};
  }
  if (std::ranges::all_of(last_label, [](char c) { return c >= '0' && c <= '9'; })) {
    return NameError{"looks like an IP address, not a domain name"};
  }
  return std::nullopt;
}

struct IdnFree {
  void operator()(char* p) const noexcept { idn2_free(p); }
};

}  // namespace

NormalisedName normalise_domain(std::string_view input) {
  std::string_view text = trim(input);
  if (text.empty()) {
    return NameError{"empty name"};
  }
  if (text.size() > 1 && text.back() == '.') {
    text.remove_suffix(1);  // the root label: "example.com." is "example.com"
  }
  if (text.find('\0') != std::string_view::npos) {
    return NameError{"NUL byte in name"};
  }
  std::string ascii;
  if (is_ascii(text)) {
    ascii.resize(text.size());
    std::ranges::transform(text, ascii.begin(), to_lower);
  } else {
    // IDNA 2008 with UTS#46 non-transitional mapping (what browsers resolve).
    const std::string owned(text);
    char* converted = nullptr;
    const int rc =
        idn2_to_ascii_8z(owned.c_str(), &converted, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    std::unique_ptr<char, IdnFree> guard(converted);
    if (rc != IDN2_OK) {
      return NameError{fmt::format("not a valid internationalised name: {}", idn2_strerror(rc))};
    }
    ascii = converted;
    std::ranges::transform(ascii, ascii.begin(), to_lower);
  }
  if (auto error = check_hostname(ascii)) {
    return *error;
  }
  return ascii;
}

}  // namespace fluxwatch

namespace fluxwatch {

std::string unicode_domain(const std::string& ascii) {
  if (ascii.find("xn--") == std::string::npos) {
    return ascii;
  }
  char* converted = nullptr;
  const int rc = idn2_to_unicode_8z8z(ascii.c_str(), &converted, 0);
  std::unique_ptr<char, IdnFree> guard(converted);
  return rc == IDN2_OK && converted != nullptr ? std::string(converted) : ascii;
}

}  // namespace fluxwatch
