#include "fluxwatch/common/soa_record.h"

#include <array>
#include <charconv>
#include <cstddef>

namespace fluxwatch {
namespace {

constexpr std::size_t kFields = 7;

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  if (text.empty() || text.size() > 10) {
    return std::nullopt;
  }
  std::uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<SoaRecord> SoaRecord::parse(std::string_view data) {
  std::array<std::string_view, kFields> fields;
  std::size_t count = 0;
  for (std::size_t start = 0;;) {
    const auto space = data.find(' ', start);
    if (count == kFields) {
      return std::nullopt;  // more than seven fields
    }
    fields[count++] = data.substr(start, space == std::string_view::npos ? space : space - start);
    if (space == std::string_view::npos) {
      break;
    }
    start = space + 1;
  }
  if (count != kFields) {
    return std::nullopt;
  }
  SoaRecord soa;
  soa.mname = fields[0];
  soa.rname = fields[1];
  for (const auto& [index, member] :
       {std::pair{2, &SoaRecord::serial}, std::pair{3, &SoaRecord::refresh},
        std::pair{4, &SoaRecord::retry}, std::pair{5, &SoaRecord::expire},
        std::pair{6, &SoaRecord::minimum}}) {
    const auto value = parse_u32(fields[static_cast<std::size_t>(index)]);
    if (!value) {
      return std::nullopt;
    }
    soa.*member = *value;
  }
  return soa;
}

std::string SoaRecord::to_string() const {
  std::string out = mname;
  out += ' ';
  out += rname;
  for (const std::uint32_t value : {serial, refresh, retry, expire, minimum}) {
    out += ' ';
    out += std::to_string(value);
  }
  return out;
}

}  // namespace fluxwatch
