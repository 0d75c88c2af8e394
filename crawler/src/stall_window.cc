#include "stall_window.h"

#include <algorithm>
#include <cmath>

namespace fluxwatch::crawler::detail {

void StallWindow::learn(std::chrono::microseconds latency) noexcept {
  const auto sample = static_cast<double>(latency.count());
  if (smoothed_us_ < 0) {
    smoothed_us_ = sample;
    deviation_us_ = sample / 2;
    return;
  }
  deviation_us_ = 0.75 * deviation_us_ + 0.25 * std::abs(smoothed_us_ - sample);
  smoothed_us_ = 0.875 * smoothed_us_ + 0.125 * sample;
}

std::chrono::microseconds StallWindow::threshold() const noexcept {
  const std::chrono::microseconds most = stall_after_;
  if (smoothed_us_ < 0) {
    return most;
  }
  const auto usual =
      std::chrono::microseconds(static_cast<std::int64_t>(smoothed_us_ + 4 * deviation_us_));
  return std::clamp(usual, std::min(kMinStall, most), most);
}

}  // namespace fluxwatch::crawler::detail
