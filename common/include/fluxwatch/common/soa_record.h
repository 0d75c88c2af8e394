#pragma once
/// The fields of an SOA record (RFC 1035 3.3.13) as values, parsed once from the text the
/// crawler stores for it (ResourceRecord::data), instead of splitting that text at each use.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fluxwatch {

struct SoaRecord {
  std::string mname;  ///< the zone's primary name server (lower case, no trailing dot)
  std::string rname;  ///< the mailbox of the person responsible, as a name
  std::uint32_t serial = 0;
  std::uint32_t refresh = 0;  ///< seconds
  std::uint32_t retry = 0;    ///< seconds
  std::uint32_t expire = 0;   ///< seconds
  std::uint32_t minimum = 0;  ///< seconds (RFC 2308: the negative-caching TTL)
  bool operator==(const SoaRecord&) const = default;

  /**
   * The SOA's `data` as the crawler writes it: "mname rname serial refresh retry expire
   * minimum", single spaces, the numbers in decimal (1 to 10 digits, at most 2^32 - 1).
   * nullopt for anything else (e.g. RDATA ldns rendered because it was not in SOA shape).
   * The SQL function soa_fields() (migration 0014) reads the stored text by the same rule.
   */
  [[nodiscard]] static std::optional<SoaRecord> parse(std::string_view data);
  /// The text form parse() reads.
  [[nodiscard]] std::string to_string() const;
};

}  // namespace fluxwatch
