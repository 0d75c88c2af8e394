#pragma once
/// "ip[:port]" server addresses as written in configs and on the command line.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fluxwatch {

/// A DNS server address: an IPv4 or IPv6 literal and a UDP/TCP port.
struct Endpoint {
  std::string ip;
  std::uint16_t port = 53;
  /// "1.2.3.4:53" or "[::1]:53".
  [[nodiscard]] std::string to_string() const;
  bool operator==(const Endpoint&) const = default;
};

/// Parses "1.2.3.4", "1.2.3.4:5300", "::1", "[::1]:5300"; nullopt if it is not one.
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view text);

}  // namespace fluxwatch
