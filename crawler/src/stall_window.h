#pragma once
/// Internal: the stall window of the crawler. A query still unanswered after the usual
/// latency (smoothed, RFC 6298 2) is "stalled": it stays in flight but no longer counts
/// against max_in_flight, so a lossy or silent server cannot hold the window shut. Pure:
/// times come in as arguments.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "fluxwatch/common/clock.h"

namespace fluxwatch::crawler::detail {

class StallWindow {
 public:
  /// The smallest threshold: below it, queueing jitter at a busy server would count as loss.
  static constexpr std::chrono::microseconds kMinStall{100000};

  /// `stall_after`: the largest threshold; 0 turns stalling off (started() keeps nothing).
  explicit StallWindow(std::chrono::microseconds stall_after) noexcept
      : stall_after_(stall_after) {}

  [[nodiscard]] bool enabled() const noexcept { return stall_after_.count() > 0; }

  /// A query started at `at` (times in order); `slot` and `serial` name that start.
  void started(SteadyClock::time_point at, std::size_t slot, std::uint64_t serial) {
    if (enabled()) {
      starts_.push_back({at, slot, serial});
    }
  }

  /// Forgets every start that is at least threshold() old at `now`, oldest first, calling
  /// `stall(slot, serial)` for each; the caller skips starts that have ended since.
  template <typename Stall>
  void expire(SteadyClock::time_point now, Stall&& stall) {
    const auto limit = threshold();
    while (!starts_.empty() && now - starts_.front().at >= limit) {
      const Start oldest = starts_.front();
      starts_.pop_front();
      stall(oldest.slot, oldest.serial);
    }
  }

  /// The latency of a query answered in one exchange: adapts threshold().
  void learn(std::chrono::microseconds latency) noexcept;

  /// Smoothed latency plus four mean deviations, within [min(kMinStall, stall_after),
  /// stall_after]; stall_after until the first answer.
  [[nodiscard]] std::chrono::microseconds threshold() const noexcept;

  /// When the oldest start waiting becomes stalled; nullopt when none waits.
  [[nodiscard]] std::optional<SteadyClock::time_point> next_stall() const noexcept {
    if (starts_.empty()) {
      return std::nullopt;
    }
    return starts_.front().at + threshold();
  }

  void clear() noexcept { starts_.clear(); }
  [[nodiscard]] std::size_t waiting() const noexcept { return starts_.size(); }

 private:
  struct Start {
    SteadyClock::time_point at;
    std::size_t slot = 0;
    std::uint64_t serial = 0;
  };
  std::chrono::microseconds stall_after_;
  std::deque<Start> starts_;  // oldest first
  // Smoothed latency of answered queries and its mean deviation, in µs; negative until the
  // first answer.
  double smoothed_us_ = -1;
  double deviation_us_ = 0;
};

}  // namespace fluxwatch::crawler::detail
