#pragma once
/// An IPv4 or IPv6 address as a value: parsed once (from text, or from the 4 or 16 bytes of
/// A/AAAA RDATA), then compared, hashed, masked and formatted without going back to text.
/// The crawler makes it; geo, storage and scoring take it.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fluxwatch {

class IpAddress {
 public:
  enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

  /// 0.0.0.0
  constexpr IpAddress() = default;
  /// From A RDATA (network byte order).
  [[nodiscard]] static IpAddress v4(std::span<const std::uint8_t, 4> bytes) noexcept;
  /// From AAAA RDATA (network byte order). An IPv4-mapped address stays IPv6: see unmapped().
  [[nodiscard]] static IpAddress v6(std::span<const std::uint8_t, 16> bytes) noexcept;
  /// 4 bytes: IPv4, 16 bytes: IPv6; nullopt for any other size.
  [[nodiscard]] static std::optional<IpAddress> from_bytes(
      std::span<const std::uint8_t> bytes) noexcept;

  /**
   * The text forms fluxwatch stores and reads back: a dotted quad (four decimal octets
   * 0-255, no leading zeros) or RFC 4291 IPv6 text (either case, "::", a trailing dotted
   * quad), with inet_pton's rules. Refused: zone ids ("fe80::1%eth0"), prefix lengths
   * ("10.0.0.1/32"), brackets, ports, spaces, and the shorthand getaddrinfo accepts
   * ("127.1", "0x7f000001", "2130706433"). nullopt when `text` is not an address.
   */
  [[nodiscard]] static std::optional<IpAddress> parse(std::string_view text) noexcept;

  [[nodiscard]] Family family() const noexcept { return family_; }
  [[nodiscard]] bool is_v4() const noexcept { return family_ == Family::V4; }
  [[nodiscard]] bool is_v6() const noexcept { return family_ == Family::V6; }
  /// The 4 (IPv4) or 16 (IPv6) address bytes in network order.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
    return std::span(bytes_).first(is_v4() ? 4 : 16);
  }
  /// Bits in the address: 32 or 128.
  [[nodiscard]] unsigned bit_length() const noexcept { return is_v4() ? 32U : 128U; }

  /// ::ffff:a.b.c.d (RFC 4291 2.5.5.2).
  [[nodiscard]] bool is_v4_mapped() const noexcept;
  /// a.b.c.d for ::ffff:a.b.c.d, the address itself otherwise: what a GeoIP database with
  /// only IPv4 data knows the address as.
  [[nodiscard]] IpAddress unmapped() const noexcept;
  /// The network of the address's first `bits` bits (the rest zeroed); `bits` past the
  /// address's length keeps it whole. E.g. 10.1.2.3 and 16 -> 10.1.0.0.
  [[nodiscard]] IpAddress network(unsigned bits) const noexcept;

  /// Canonical text: the dotted quad; RFC 5952 for IPv6 (inet_ntop's form, so an
  /// IPv4-mapped address is "::ffff:1.2.3.4"). parse(to_string()) == *this.
  [[nodiscard]] std::string to_string() const;
  /// to_string() appended to `out`, without a temporary.
  void append_to(std::string& out) const;

  /// IPv4 before IPv6, then by bytes (numeric order within a family).
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  Family family_ = Family::V4;
  std::array<std::uint8_t, 16> bytes_{};  ///< IPv4 in the first 4 bytes, the rest zero
};

}  // namespace fluxwatch

template <>
struct std::hash<fluxwatch::IpAddress> {
  std::size_t operator()(const fluxwatch::IpAddress& address) const noexcept;
};
