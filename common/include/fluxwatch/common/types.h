#pragma once
/// Value types shared by every stage of the pipeline (watchlist -> crawler -> geo -> storage).
/// Plain structs only: no C library headers here.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fluxwatch/common/ip_address.h"

namespace fluxwatch {

/// DNS record types fluxwatch asks for or stores specially (RFC 1035, RFC 3596).
/// Other types seen in answers are kept as their raw number.
enum class RrType : std::uint16_t { A = 1, NS = 2, CNAME = 5, SOA = 6, AAAA = 28 };

/// "A", "AAAA", "MX", ... for the types ldns knows, "TYPE<n>" (RFC 3597) otherwise.
[[nodiscard]] std::string rrtype_name(std::uint16_t type);
/// rrtype_name() without an allocation: the mnemonic of a type it spells by name, empty for
/// the types it writes as "TYPE<n>".
[[nodiscard]] std::string_view rrtype_mnemonic(std::uint16_t type) noexcept;
/// Parses a record type to ask for, case-insensitively: any mnemonic ldns knows ("A", "mx",
/// "TXT", "CAA", "DNSKEY", ...) or "TYPE<n>" (RFC 3597). The result may hold a value that is
/// not one of RrType's named enumerators (e.g. 15 for MX). nullopt for unknown names and for
/// meta types that are not queried this way (OPT, TSIG, TKEY, IXFR, AXFR, MAILA, MAILB).
[[nodiscard]] std::optional<RrType> parse_rrtype(std::string_view text);
/// False for meta types a probe does not ask for (see parse_rrtype).
[[nodiscard]] bool is_queryable_rrtype(std::uint16_t type) noexcept;

/// What one probe measured. Every value is a measurement and is stored; none is an error.
enum class Outcome : std::uint8_t {
  NoError,      ///< RCODE 0 with at least one record of the asked type (after CNAMEs)
  NoData,       ///< RCODE 0 but no record of the asked type
  NxDomain,     ///< RCODE 3
  ServFail,     ///< RCODE 2
  Refused,      ///< RCODE 5
  FormErr,      ///< RCODE 1
  OtherRcode,   ///< any other RCODE (kept in ProbeResult::rcode)
  Timeout,      ///< no answer within timeout x tries
  ConnRefused,  ///< the server's port is closed (ICMP unreachable / TCP RST)
  Malformed,    ///< an answer arrived but could not be parsed
  NetError,     ///< any other local failure (socket error, out of memory, ...)
  /// A server asked as one of the domain's own name servers (RD=0) answered without the AA
  /// bit (e.g. a referral) or with REFUSED: a "lame" delegation. rcode keeps the RCODE.
  Lame,
};

/// "NOERROR", "NODATA", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "OTHER_RCODE",
/// "TIMEOUT", "CONNREFUSED", "MALFORMED", "NETERROR", "LAME": the stored spelling.
[[nodiscard]] std::string_view outcome_name(Outcome outcome) noexcept;
[[nodiscard]] std::optional<Outcome> parse_outcome(std::string_view text) noexcept;

/// Why a probe was sent (stored as probes.mode).
enum class ProbeMode : std::uint8_t {
  Recursive,      ///< asked a recursive resolver (RD=1), the default
  Authoritative,  ///< asked one of the domain's own name servers directly (RD=0)
  Delegation,     ///< finding the delegation: the NS set and the name servers' addresses
};
/// "recursive", "authoritative", "delegation".
[[nodiscard]] std::string_view probe_mode_name(ProbeMode mode) noexcept;

/// Section of a DNS message a record came from (RFC 1035 4.1).
enum class Section : std::uint8_t { Answer, Authority, Additional };
/// "answer", "authority", "additional": the stored spelling.
[[nodiscard]] std::string_view section_name(Section section) noexcept;
[[nodiscard]] std::optional<Section> parse_section(std::string_view text) noexcept;

/// One resource record of an answer, flattened to text, with A/AAAA addresses also typed.
struct ResourceRecord {
  ResourceRecord() = default;
  /// A record made from text (tests, imports): `address` is parsed from `data` here, once,
  /// for A/AAAA. The crawler fills the members itself, the address from the RDATA bytes.
  ResourceRecord(Section section_, std::string owner_, std::uint16_t type_, std::uint32_t ttl_,
                 std::string data_);

  Section section = Section::Answer;
  std::string owner;       ///< lower case, no trailing dot
  std::uint16_t type = 0;  ///< RrType value or any other type number
  std::uint32_t ttl = 0;
  /// A/AAAA: the address in canonical text form; NS/CNAME: the target name (lower case,
  /// no trailing dot); SOA: "mname rname serial refresh retry expire minimum";
  /// other types: the RDATA in presentation format.
  std::string data;
  /// A/AAAA with well-formed RDATA: the address `data` spells, parsed once by the crawler
  /// (from the wire bytes) for every later stage; empty for every other type.
  std::optional<IpAddress> address;
  bool operator==(const ResourceRecord&) const = default;
};

/// The result of one query (one name, one type, one server).
struct ProbeResult {
  std::int64_t domain_id = 0;  ///< watchlist id (0 when the name is not on the watchlist)
  std::string name;            ///< the name queried (normalised)
  RrType qtype = RrType::A;
  std::string resolver;  ///< "ip:port" of the server that was asked
  std::chrono::system_clock::time_point sent_at{};
  std::chrono::microseconds latency{0};  ///< send to final answer (or to giving up)
  Outcome outcome = Outcome::NetError;
  int rcode = -1;              ///< the DNS RCODE, -1 when no answer was received
  bool via_tcp = false;        ///< the UDP answer was truncated and the stored one came over TCP
  bool authoritative = false;  ///< the AA bit of the stored answer (RFC 1035 4.1.1)
  std::vector<ResourceRecord> records;  ///< answer, authority and additional sections
  std::string detail;                   ///< human-readable detail for failures, else empty

  // Context set by whoever scheduled the probe (empty / unset when not applicable).
  std::optional<std::chrono::system_clock::time_point> due_at;  ///< when the probe was due
  std::string campaign;                                         ///< campaign name
  std::string vantage;                    ///< vantage-point label (where the probe was sent from)
  ProbeMode mode = ProbeMode::Recursive;  ///< why it was sent
  std::string server_name;  ///< authoritative probes: the NS name of `resolver`, else empty
};

/// GeoIP/ASN data for one address; empty members mean "not known".
struct GeoRecord {
  std::optional<std::uint32_t> asn;
  std::string as_org;
  std::string country_iso;  ///< ISO 3166-1 alpha-2
  std::string country_name;
  std::string city;
  std::optional<double> latitude;
  std::optional<double> longitude;
  bool operator==(const GeoRecord&) const = default;
  [[nodiscard]] bool empty() const noexcept {
    return !asn && as_org.empty() && country_iso.empty() && city.empty() && !latitude;
  }
};

/// One watched domain as the rest of the pipeline sees it.
struct WatchedDomain {
  std::int64_t id = 0;
  std::string domain;
  bool operator==(const WatchedDomain&) const = default;
};

}  // namespace fluxwatch
