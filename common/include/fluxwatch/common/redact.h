#pragma once
/// Secrets cut out of text before it is logged or stored: no credential from the config
/// (URL userinfo, query-string tokens) reaches a log line or a table.

#include <string>

namespace fluxwatch {

/// "https://user:pw@host/p?license_key=x" -> "https://host/p?license_key=...": the userinfo
/// goes, and so does every query value (tokens, licence keys, signatures).
[[nodiscard]] std::string redact_url(const std::string& url);

}  // namespace fluxwatch
