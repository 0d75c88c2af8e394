#include "copy_text.h"

#include <fmt/format.h>

#include "fluxwatch/common/ip_address.h"

namespace fluxwatch::storage::detail {

std::chrono::system_clock::time_point from_unix_micros(long long micros) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds{micros})};
}

bool is_ip_address(std::string_view text) {
  // Called for every A/AAAA record; IpAddress::parse reads IPv4 by hand, IPv6 by inet_pton.
  return IpAddress::parse(text).has_value();
}

std::optional<std::string> null_if_empty(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return std::string(text);
}

}  // namespace fluxwatch::storage::detail
