#include "fluxwatch/common/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "fluxwatch/common/address_scope.h"

namespace fluxwatch {
namespace {

/// inet_pton(AF_INET, text) without the NUL-terminated copy, and with glibc's rules exactly:
/// four decimal numbers 0-255 separated by dots, no leading zeros, nothing else. IPv4 is
/// the common case (most A records), so it is parsed here.
bool parse_dotted_quad(std::string_view text, std::span<std::uint8_t, 4> out) noexcept {
  std::size_t octets = 0;
  int value = -1;  // -1: no digit yet in this octet
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      if (value == 0) {
        return false;  // a leading zero
      }
      value = (value < 0 ? 0 : value * 10) + (c - '0');
      if (value > 255) {
        return false;
      }
    } else if (c == '.' && value >= 0 && octets < 3) {
      out[octets++] = static_cast<std::uint8_t>(value);
      value = -1;
    } else {
      return false;
    }
  }
  if (octets != 3 || value < 0) {
    return false;
  }
  out[3] = static_cast<std::uint8_t>(value);
  return true;
}

void append_octet(unsigned octet, std::string& out) {
  if (octet >= 100) {
    out.push_back(static_cast<char>('0' + octet / 100));
  }
  if (octet >= 10) {
    out.push_back(static_cast<char>('0' + octet / 10 % 10));
  }
  out.push_back(static_cast<char>('0' + octet % 10));
}

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

IpAddress IpAddress::v4(std::span<const std::uint8_t, 4> bytes) noexcept {
  IpAddress address;
  std::ranges::copy(bytes, address.bytes_.begin());
  return address;
}

IpAddress IpAddress::v6(std::span<const std::uint8_t, 16> bytes) noexcept {
  IpAddress address;
  address.family_ = Family::V6;
  std::ranges::copy(bytes, address.bytes_.begin());
  return address;
}

std::optional<IpAddress> IpAddress::from_bytes(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.size() == 4) {
    return v4(bytes.first<4>());
  }
  if (bytes.size() == 16) {
    return v6(bytes.first<16>());
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  IpAddress address;
  // IPv6 text always has a colon, IPv4 text never.
  if (text.find(':') == std::string_view::npos) {
    if (parse_dotted_quad(text, std::span(address.bytes_).first<4>())) {
      return address;
    }
    return std::nullopt;
  }
  // inet_pton wants a NUL-terminated copy (so text with a NUL of its own is no address); the
  // longest IPv6 text form is INET6_ADDRSTRLEN - 1 characters.
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (text.size() >= buffer.size() || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  text.copy(buffer.data(), text.size());
  if (inet_pton(AF_INET6, buffer.data(), address.bytes_.data()) != 1) {
    return std::nullopt;
  }
  address.family_ = Family::V6;
  return address;
}

bool IpAddress::is_v4_mapped() const noexcept {
  return is_v6() && std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes_.begin());
}

IpAddress IpAddress::unmapped() const noexcept {
  if (!is_v4_mapped()) {
    return *this;
  }
  return v4(std::span(bytes_).subspan<12, 4>());
}

IpAddress IpAddress::network(unsigned bits) const noexcept {
  IpAddress out = *this;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= bits) {
      out.bytes_[i] = 0;
    } else if (first_bit + 8 > bits) {
      out.bytes_[i] &= static_cast<std::uint8_t>(0xffU << (first_bit + 8 - bits));
    }
  }
  return out;
}

void IpAddress::append_to(std::string& out) const {
  if (is_v4()) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, a visible cost at one call per
    // answer record.
    for (std::size_t i = 0; i < 4; ++i) {
      if (i > 0) {
        out.push_back('.');
      }
      append_octet(bytes_[i], out);
    }
    return;
  }
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  if (inet_ntop(AF_INET6, bytes_.data(), buffer.data(), buffer.size()) != nullptr) {
    out += buffer.data();
  }
}

std::string IpAddress::to_string() const {
  std::string out;
  append_to(out);
  return out;
}

bool is_loopback(const IpAddress& address) noexcept {
  const IpAddress plain = address.unmapped();  // ::ffff:127.x.y.z is 127.x.y.z
  const auto bytes = plain.bytes();
  if (bytes.size() == 16) {
    constexpr std::array<std::uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(bytes.begin(), bytes.end(), kLoopback.begin());
  }
  return bytes[0] == 127;
}

}  // namespace fluxwatch

std::size_t std::hash<fluxwatch::IpAddress>::operator()(
    const fluxwatch::IpAddress& address) const noexcept {
  const auto bytes = address.bytes();
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::memcpy(&lo, bytes.data(), std::min<std::size_t>(bytes.size(), 8));
  if (bytes.size() > 8) {
    std::memcpy(&hi, bytes.data() + 8, 8);
  }
  const auto family = static_cast<std::uint64_t>(address.family());
  const std::uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + family) * 0xC2B2AE3D27D4EB4FULL;
  return static_cast<std::size_t>(h ^ (h >> 29));
}
