#pragma once
/// Which resolver a domain goes to: an unbiased spread (every domain and record type meets
/// every resolver over time), and resolvers whose queries keep failing taken out of the
/// spread except for a small retry share, so that one dead resolver does not slow the
/// others. Pure logic on an injected time: unit-tested exactly.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "fluxwatch/common/clock.h"

namespace fluxwatch::scheduler {

struct ResolverHealthOptions {
  /// Failed results in a row (timeouts, refused, network errors) that mark a resolver
  /// unhealthy; any answer (NOERROR, NXDOMAIN, SERVFAIL, ...) marks it healthy again.
  std::size_t failures_to_mark = 3;
  /// An unhealthy resolver still gets one domain this often (its results are stored like
  /// any other: a timeout is a measurement), so that its recovery is noticed.
  std::chrono::milliseconds retry_interval{1000};
};

class ResolverHealth {
 public:
  using TimePoint = SteadyTime;
  enum class Change { None, BecameUnhealthy, BecameHealthy };

  ResolverHealth(std::size_t resolvers, ResolverHealthOptions options);

  /// One result of `resolver`: `failed` for an outcome without a measured answer.
  Change record(std::size_t resolver, bool failed);
  [[nodiscard]] bool healthy(std::size_t resolver) const;
  /// Failed results of `resolver` since its last answer (0 for an unknown index).
  [[nodiscard]] std::size_t failures_in_row(std::size_t resolver) const;
  [[nodiscard]] std::size_t resolvers() const noexcept { return state_.size(); }

  /**
   * The resolver for a domain whose fair share is `preferred`: the first, from `preferred`
   * on in turn, that `usable` accepts (e.g. its rate limit has tokens) and that is healthy
   * or whose retry turn is due at `now` (the turn is then taken). When no resolver is
   * healthy they are all treated as healthy (there is nothing better to ask). Returns
   * resolvers() if none qualifies now.
   */
  std::size_t choose(std::size_t preferred, TimePoint now,
                     const std::function<bool(std::size_t)>& usable = {});

  /**
   * The fair share of the domain at position `index` in `turn` (a probe round, or a
   * draw per due time): consecutive domains go to consecutive resolvers and each turn
   * moves every domain on by one, so a domain meets every resolver in `resolvers` turns
   * whatever the order of record types or domains.
   */
  [[nodiscard]] static std::size_t spread(std::uint64_t index, std::uint64_t turn,
                                          std::size_t resolvers) noexcept;

 private:
  struct State {
    std::size_t failures_in_row = 0;
    bool healthy = true;
    TimePoint next_retry{};
  };
  ResolverHealthOptions options_;
  std::vector<State> state_;
};

}  // namespace fluxwatch::scheduler
