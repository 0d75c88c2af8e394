#include "fluxwatch/common/time_text.h"

#include <fmt/format.h>

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

}  // namespace fluxwatch
