#include "copy_text.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>

namespace fluxwatch::storage::detail {

std::string format_timestamp_utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  // floor, not duration_cast: a time before 1970 must not round towards the epoch.
  const auto micros = floor<microseconds>(tp);
  const auto day = floor<days>(micros);
  const year_month_day date{day};
  const hh_mm_ss time{micros - day};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

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
