#pragma once
/// Normalisation of untrusted domain names (from watchlists and feeds) into the one form
/// fluxwatch stores and queries: lower case ASCII (IDNA A-labels via libidn2), no trailing
/// dot, RFC 1035 length limits, hostname characters only (letters, digits, hyphen, and
/// underscore, which real malware domains and service labels use).

#include <string>
#include <string_view>
#include <variant>

namespace fluxwatch {

/// Why a name was rejected; `message` is fit to show a user.
struct NameError {
  std::string message;
};

/// Either the normalised name or why the input is not one.
using NormalisedName = std::variant<std::string, NameError>;

/// Normalises `input` (surrounding blanks trimmed): Unicode goes through IDNA 2008 (UTS#46
/// mapping, libidn2), ASCII is lower-cased; one trailing dot is dropped. Rejects empty
/// labels, labels over 63 octets, names over 253 octets, characters outside
/// [a-z0-9-_], labels starting or ending with '-', and all-numeric TLDs (IP addresses).
[[nodiscard]] NormalisedName normalise_domain(std::string_view input);

/// The Unicode form of a normalised name (A-labels decoded, libidn2), or the name itself
/// when it has none or cannot be decoded. For display next to the stored form.
[[nodiscard]] std::string unicode_domain(const std::string& ascii);

}  // namespace fluxwatch
