#include "address.h"

#include <algorithm>
#include <cstring>

namespace fluxwatch::geo::detail {

const sockaddr* SocketAddress::get() const noexcept {
  // sockaddr_storage is the type the sockets API makes to be viewed as a sockaddr.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  return reinterpret_cast<const sockaddr*>(&storage);
}

SocketAddress to_socket_address(const IpAddress& address) noexcept {
  const IpAddress plain = address.unmapped();
  const auto bytes = plain.bytes();
  SocketAddress out;
  if (plain.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, bytes.data(), bytes.size());
    std::memcpy(&out.storage, &sin, sizeof sin);
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    std::memcpy(&sin6.sin6_addr, bytes.data(), bytes.size());
    std::memcpy(&out.storage, &sin6, sizeof sin6);
  }
  return out;
}

}  // namespace fluxwatch::geo::detail
