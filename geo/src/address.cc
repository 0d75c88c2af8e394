#include "address.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace fluxwatch::geo::detail {

const sockaddr* SocketAddress::get() const noexcept {
  // sockaddr_storage is the type the sockets API makes to be viewed as a sockaddr.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  return reinterpret_cast<const sockaddr*>(&storage);
}

std::optional<SocketAddress> parse_address(std::string_view text) noexcept {
  // The longest IPv6 text form ("ffff:...:255.255.255.255") is INET6_ADDRSTRLEN - 1 chars;
  // inet_pton wants a NUL-terminated copy.
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (text.empty() || text.size() >= buffer.size() || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(buffer.data(), text.data(), text.size());

  SocketAddress out;
  in_addr v4{};
  if (inet_pton(AF_INET, buffer.data(), &v4) == 1) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr = v4;
    std::memcpy(&out.storage, &sin, sizeof sin);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer.data(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      std::memcpy(&sin.sin_addr, &v6.s6_addr[12], sizeof sin.sin_addr);
      std::memcpy(&out.storage, &sin, sizeof sin);
      return out;
    }
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = v6;
    std::memcpy(&out.storage, &sin6, sizeof sin6);
    return out;
  }
  return std::nullopt;
}

}  // namespace fluxwatch::geo::detail
