#pragma once
/// Internal: strict parsing of address text into a socket address for MMDB_lookup_sockaddr.

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string_view>

namespace fluxwatch::geo::detail {

/// An IPv4 or IPv6 address as libmaxminddb wants it.
struct SocketAddress {
  sockaddr_storage storage{};

  /// The address as a `const sockaddr*` (sockaddr_in or sockaddr_in6 inside).
  [[nodiscard]] const sockaddr* get() const noexcept;
  [[nodiscard]] bool is_ipv6() const noexcept { return storage.ss_family == AF_INET6; }
};

/**
 * Parses dotted-quad IPv4 or RFC 4291 IPv6 text with inet_pton, so shorthand that
 * getaddrinfo (and hence MMDB_lookup_string) would accept, such as "127.1" or "0x7f000001",
 * and zone ids ("fe80::1%eth0") are rejected. An IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * RFC 4291 2.5.5.2) becomes the IPv4 address, so it is found in IPv4-only databases too.
 * @return nullopt when `text` is not an address.
 */
[[nodiscard]] std::optional<SocketAddress> parse_address(std::string_view text) noexcept;

}  // namespace fluxwatch::geo::detail
