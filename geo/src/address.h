#pragma once
/// Internal: an IpAddress as the socket address MMDB_lookup_sockaddr wants.

#include <netinet/in.h>
#include <sys/socket.h>

#include "fluxwatch/common/ip_address.h"

namespace fluxwatch::geo::detail {

/// An IPv4 or IPv6 address as libmaxminddb wants it.
struct SocketAddress {
  sockaddr_storage storage{};

  /// The address as a `const sockaddr*` (sockaddr_in or sockaddr_in6 inside).
  [[nodiscard]] const sockaddr* get() const noexcept;
  [[nodiscard]] bool is_ipv6() const noexcept { return storage.ss_family == AF_INET6; }
};

/**
 * `address` as a socket address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291
 * 2.5.5.2) becomes the IPv4 address, so it is found in IPv4-only databases too. (Text is
 * parsed by IpAddress::parse, which refuses the shorthand getaddrinfo, and hence
 * MMDB_lookup_string, would accept, such as "127.1" or "0x7f000001", and zone ids.)
 */
[[nodiscard]] SocketAddress to_socket_address(const IpAddress& address) noexcept;

}  // namespace fluxwatch::geo::detail
