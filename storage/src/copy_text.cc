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

bool is_ip_address(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest IPv6 text form is 45 characters.
  std::array<char, 64> buffer{};
  if (text.empty() || text.size() >= buffer.size()) {
    return false;
  }
  text.copy(buffer.data(), text.size());
  std::array<unsigned char, 16> address{};
  return inet_pton(AF_INET, buffer.data(), address.data()) == 1 ||
         inet_pton(AF_INET6, buffer.data(), address.data()) == 1;
}

std::optional<std::string> null_if_empty(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  return std::string(text);
}

}  // namespace fluxwatch::storage::detail
