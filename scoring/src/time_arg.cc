#include "fluxwatch/scoring/time_arg.h"

#include <charconv>
#include <string>

namespace fluxwatch::scoring {
namespace {

/// Reads exactly `width` digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  const auto* first = text.data() + pos;
  const auto [end, error] = std::from_chars(first, first + width, value);
  if (error != std::errc() || end != first + width) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

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
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                            std::chrono::day(*day)};
  if (!date.ok()) {
    return std::nullopt;
  }
  auto when = sys_days(date) + seconds(0);
  if (text.size() == 10) {
    return when;
  }
  std::string_view rest = text.substr(10);
  if (rest.back() == 'Z') {
    rest.remove_suffix(1);
  }
  if (rest.size() != 9 || (rest[0] != 'T' && rest[0] != ' ') || rest[3] != ':' || rest[6] != ':') {
    return std::nullopt;
  }
  const auto h = digits(rest, 1, 2);
  const auto m = digits(rest, 4, 2);
  const auto s = digits(rest, 7, 2);
  if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) {
    return std::nullopt;
  }
  return when + hours(*h) + minutes(*m) + seconds(*s);
}

}  // namespace fluxwatch::scoring
