#include "copy_text.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>

namespace fluxwatch::storage::detail {

std::chrono::system_clock::time_point from_unix_micros(long long micros) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds{micros})};
}

namespace {

/// inet_pton(AF_INET, text) == 1 without the NUL-terminated copy: glibc's rules, exactly
/// four decimal numbers 0-255 separated by dots, no leading zeros, nothing else.
bool is_dotted_quad(std::string_view text) noexcept {
  int octets = 0;
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
      ++octets;
      value = -1;
    } else {
      return false;
    }
  }
  return octets == 3 && value >= 0;
}

}  // namespace

bool is_ip_address(std::string_view text) {
  // Called for every A/AAAA record, so the common IPv4 case is parsed here; only text
  // with a colon (IPv6 has one, IPv4 never) goes to inet_pton.
  if (text.find(':') == std::string_view::npos) {
    return is_dotted_quad(text);
  }
  // inet_pton needs a NUL-terminated string (so text with a NUL of its own is no address);
  // the longest IPv6 text form is 45 characters.
  std::array<char, 64> buffer{};
  if (text.size() >= buffer.size() || text.find('\0') != std::string_view::npos) {
    return false;
  }
  text.copy(buffer.data(), text.size());
  std::array<unsigned char, 16> address{};
  return inet_pton(AF_INET6, buffer.data(), address.data()) == 1;
}

std::optional<std::string> null_if_empty(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return std::string(text);
}

}  // namespace fluxwatch::storage::detail
