#include "fluxwatch/common/types.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
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
  // Every other type ldns knows (MX, TXT, PTR, SRV, CAA, DS, DNSKEY, ...), spelt as dig does.
  const ldns_rr_descriptor* descriptor = ldns_rr_descript(type);
  if (descriptor != nullptr && descriptor->_type == type && descriptor->_name != nullptr) {
    return descriptor->_name;
  }
  return {};
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
  std::uint16_t number = 0;
  if (text.size() > 4 && iequals(text.substr(0, 4), "TYPE")) {  // RFC 3597: TYPE<n>
    const auto digits = text.substr(4);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (error != std::errc() || end != digits.data() + digits.size() || number == 0) {
      return std::nullopt;
    }
  } else {
    const std::string name(text);  // ldns wants a NUL-terminated string
    number = static_cast<std::uint16_t>(ldns_get_rr_type_by_name(name.c_str()));
    if (number == 0) {
      return std::nullopt;
    }
  }
  if (!is_queryable_rrtype(number)) {
    return std::nullopt;
  }
  return static_cast<RrType>(number);
}

bool is_queryable_rrtype(std::uint16_t type) noexcept {
  switch (type) {
    case 0:    // reserved
    case 41:   // OPT: EDNS0 pseudo-record
    case 249:  // TKEY
    case 250:  // TSIG
    case 251:  // IXFR
    case 252:  // AXFR
    case 253:  // MAILB
    case 254:  // MAILA
      return false;
    default:
      return true;
  }
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

ResourceRecord::ResourceRecord(Section section_, std::string owner_, std::uint16_t type_,
                               std::uint32_t ttl_, std::string data_)
    : section(section_), owner(std::move(owner_)), type(type_), ttl(ttl_), data(std::move(data_)) {
  if (type == static_cast<std::uint16_t>(RrType::A) ||
      type == static_cast<std::uint16_t>(RrType::AAAA)) {
    address = IpAddress::parse(data);
  }
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

std::optional<Section> parse_section(std::string_view text) noexcept {
  for (const Section section : {Section::Answer, Section::Authority, Section::Additional}) {
    if (text == section_name(section)) {
      return section;
    }
  }
  return std::nullopt;
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
