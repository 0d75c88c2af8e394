#include "fluxwatch/common/types.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace fluxwatch {
namespace {

constexpr std::array<std::pair<RrType, std::string_view>, 5> kRrTypeNames{{
    {RrType::A, "A"},
    {RrType::NS, "NS"},
    {RrType::CNAME, "CNAME"},
    {RrType::SOA, "SOA"},
    {RrType::AAAA, "AAAA"},
}};

constexpr std::array<std::pair<Outcome, std::string_view>, 12> kOutcomeNames{{
    {Outcome::NoError, "NOERROR"},
    {Outcome::NoData, "NODATA"},
    {Outcome::NxDomain, "NXDOMAIN"},
    {Outcome::ServFail, "SERVFAIL"},
    {Outcome::Refused, "REFUSED"},
    {Outcome::FormErr, "FORMERR"},
    {Outcome::OtherRcode, "OTHER_RCODE"},
    {Outcome::Timeout, "TIMEOUT"},
    {Outcome::ConnRefused, "CONNREFUSED"},
    {Outcome::Malformed, "MALFORMED"},
    {Outcome::NetError, "NETERROR"},
    {Outcome::Lame, "LAME"},
}};

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::toupper(static_cast<unsigned char>(x)) ==
           std::toupper(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string_view rrtype_mnemonic(std::uint16_t type) noexcept {
  for (const auto& [value, name] : kRrTypeNames) {
    if (static_cast<std::uint16_t>(value) == type) {
      return name;
    }
  }
  switch (type) {  // common types seen in answers, spelt as dig does
    case 12:
      return "PTR";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 33:
      return "SRV";
    case 41:
      return "OPT";
    case 46:
      return "RRSIG";
    default:
      return {};
  }
}

std::string rrtype_name(std::uint16_t type) {
  if (const std::string_view name = rrtype_mnemonic(type); !name.empty()) {
    return std::string(name);
  }
  return "TYPE" + std::to_string(type);
}

std::optional<RrType> parse_rrtype(std::string_view text) {
  for (const auto& [value, name] : kRrTypeNames) {
    if (iequals(text, name)) {
      return value;
    }
  }
  return std::nullopt;
}

std::string_view outcome_name(Outcome outcome) noexcept {
  for (const auto& [value, name] : kOutcomeNames) {
    if (value == outcome) {
      return name;
    }
  }
  return "NETERROR";
}

std::optional<Outcome> parse_outcome(std::string_view text) noexcept {
  for (const auto& [value, name] : kOutcomeNames) {
    if (text == name) {
      return value;
    }
  }
  return std::nullopt;
}

std::string_view section_name(Section section) noexcept {
  switch (section) {
    case Section::Answer:
      return "answer";
    case Section::Authority:
      return "authority";
    case Section::Additional:
      return "additional";
  }
  return "answer";
}

std::string_view probe_mode_name(ProbeMode mode) noexcept {
  switch (mode) {
    case ProbeMode::Authoritative:
      return "authoritative";
    case ProbeMode::Delegation:
      return "delegation";
    case ProbeMode::Recursive:
    default:
      return "recursive";
  }
}

}  // namespace fluxwatch
