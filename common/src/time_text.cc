#include "fluxwatch/common/time_text.h"

#include <fmt/format.h>

#include <charconv>

#include "fluxwatch/common/utc_time.h"

namespace fluxwatch {

std::string format_timestamp_utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto micros = floor<microseconds>(tp);  // floor, not duration_cast: see the header
  const auto day = floor<days>(micros);
  const year_month_day date{day};
  const hh_mm_ss time{micros - day};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

std::string format_iso8601_utc(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(tp);
  const auto day = floor<days>(secs);
  const year_month_day date{day};
  const hh_mm_ss time{secs - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count());
}

namespace {

/// Exactly `width` digits at `pos` of `text`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  const char* first = text.data() + pos;
  const auto [end, error] = std::from_chars(first, first + width, value);
  if (error != std::errc() || end != first + width) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_utc_time(std::string_view text,
                                                                    UtcTimeForm form) {
  using namespace std::chrono;
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  if (!year || !month || !day || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(*year),
                            std::chrono::month(static_cast<unsigned>(*month)),
                            std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) {
    return std::nullopt;
  }
  const sys_seconds midnight{sys_days(date)};
  std::string_view rest = text.substr(10);
  if (rest.empty()) {
    return form == UtcTimeForm::ZoneOptional ? std::optional(system_clock::time_point(midnight))
                                             : std::nullopt;
  }
  bool zoned = false;
  for (const std::string_view zone : {"Z", "+00:00", "+00"}) {
    if (rest.ends_with(zone)) {
      rest.remove_suffix(zone.size());
      zoned = true;
      break;
    }
  }
  if (!zoned && form == UtcTimeForm::WithZone) {
    return std::nullopt;
  }
  if (zoned && form == UtcTimeForm::ZoneOptional && !text.ends_with("Z")) {
    return std::nullopt;  // arguments take "Z" only, as documented
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
  return system_clock::time_point(midnight + hours(*h) + minutes(*m) + seconds(*s));
}

}  // namespace fluxwatch
