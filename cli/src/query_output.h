#pragma once
/// The JSON lines `fluxwatch query` writes (the zdns/massdns convention; the schema is in
/// README.md, "One-off queries"): one object per name and type, then one metadata object.
/// Built with nlohmann-json, so untrusted names and record data are escaped correctly
/// (invalid UTF-8 is replaced, never written through).

#include <chrono>
#include <functional>
#include <string>

#include "fluxwatch/common/types.h"

namespace fluxwatch::cli {

/// GeoIP/ASN data of an address record, by the address the crawler parsed.
using GeoLookup = std::function<GeoRecord(const IpAddress& address)>;

/// One result as a JSON line (no trailing newline).
[[nodiscard]] std::string query_result_json(const ProbeResult& result, const GeoLookup& geo);

/// A name that could not be asked (not a domain name): status ILLEGAL_INPUT, as zdns.
[[nodiscard]] std::string illegal_input_json(const std::string& input, const std::string& why,
                                             std::size_t line);

/// RFC 3339 UTC with microseconds: "2026-12-02T04:20:00.123456Z".
[[nodiscard]] std::string rfc3339_micros(std::chrono::system_clock::time_point when);

}  // namespace fluxwatch::cli
