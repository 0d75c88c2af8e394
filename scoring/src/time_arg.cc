#include "fluxwatch/scoring/time_arg.h"

#include <charconv>

#include "fluxwatch/common/utc_time.h"

namespace fluxwatch::scoring {

std::optional<std::chrono::system_clock::time_point> parse_time_arg(
    std::string_view text, std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  if (text.size() >= 2 && text.find('-') == std::string_view::npos) {
    long long amount = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
    if (error != std::errc() || end != text.data() + text.size() - 1 || amount < 0) {
      return std::nullopt;
    }
    switch (text.back()) {
      case 's':
        return now - seconds(amount);
      case 'm':
        return now - minutes(amount);
      case 'h':
        return now - hours(amount);
      case 'd':
        return now - days(amount);
      default:
        return std::nullopt;
    }
  }
  return parse_utc_time(text, UtcTimeForm::ZoneOptional);
}

}  // namespace fluxwatch::scoring
