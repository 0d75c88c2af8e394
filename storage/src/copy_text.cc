#include "copy_text.h"

#include <fmt/format.h>

#include <charconv>

#include "fluxwatch/common/error.h"
#include "fluxwatch/common/ip_address.h"

namespace fluxwatch::storage::detail {

std::chrono::system_clock::time_point from_unix_micros(long long micros) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds{micros})};
}

bool is_ip_address(std::string_view text) {
  // Called for every A/AAAA record; IpAddress::parse reads IPv4 by hand, IPv6 by inet_pton.
  return IpAddress::parse(text).has_value();
}

std::optional<std::string> null_if_empty(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return std::string(text);
}

void copy_fields(std::string_view line, std::vector<std::string_view>& fields) {
  if (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  fields.clear();
  for (std::size_t tab = line.find('\t'); tab != std::string_view::npos; tab = line.find('\t')) {
    fields.push_back(line.substr(0, tab));
    line.remove_prefix(tab + 1);
  }
  fields.push_back(line);
}

std::int64_t copy_integer(std::string_view field) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size()) {
    throw Error(fmt::format("storage: unexpected COPY field '{}' (an integer)", field));
  }
  return value;
}

std::string copy_text_field(std::string_view field) {
  std::string text;
  text.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      text += field[i];
      continue;
    }
    switch (const char c = field[++i]) {
      case 'b':
        text += '\b';
        break;
      case 'f':
        text += '\f';
        break;
      case 'n':
        text += '\n';
        break;
      case 'r':
        text += '\r';
        break;
      case 't':
        text += '\t';
        break;
      case 'v':
        text += '\v';
        break;
      default:
        text += c;
        break;
    }
  }
  return text;
}

}  // namespace fluxwatch::storage::detail
