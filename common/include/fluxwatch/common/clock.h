#pragma once
/// The one spelling of the monotonic clock, for deadlines, rates and durations (never for
/// what is stored: stored times are std::chrono::system_clock, UTC).

#include <chrono>

namespace fluxwatch {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

}  // namespace fluxwatch
