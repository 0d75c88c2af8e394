#include "fluxwatch/common/endpoint.h"

#include <charconv>

#include "fluxwatch/common/ip_address.h"

namespace fluxwatch {
namespace {

bool is_ipv4(std::string_view text) {
  const auto address = IpAddress::parse(text);
  return address && address->is_v4();
}

bool is_ipv6(std::string_view text) {
  const auto address = IpAddress::parse(text);
  return address && address->is_v6();
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string Endpoint::to_string() const {
  const std::string port_text = std::to_string(port);
  return ip.find(':') != std::string::npos ? "[" + ip + "]:" + port_text : ip + ":" + port_text;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  if (text.front() == '[') {  // [v6]:port or [v6]
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    std::string ip(text.substr(1, close - 1));
    if (!is_ipv6(ip)) {
      return std::nullopt;
    }
    auto rest = text.substr(close + 1);
    if (rest.empty()) {
      return Endpoint{ip, 53};
    }
    if (rest.front() != ':') {
      return std::nullopt;
    }
    auto port = parse_port(rest.substr(1));
    if (!port) {
      return std::nullopt;
    }
    return Endpoint{ip, *port};
  }
  std::string whole(text);
  if (is_ipv6(whole)) {  // bare v6 literal, default port
    return Endpoint{whole, 53};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return is_ipv4(whole) ? std::optional<Endpoint>(Endpoint{whole, 53}) : std::nullopt;
  }
  std::string ip(text.substr(0, colon));
  auto port = parse_port(text.substr(colon + 1));
  if (!is_ipv4(ip) || !port) {
    return std::nullopt;
  }
  return Endpoint{ip, *port};
}

}  // namespace fluxwatch
