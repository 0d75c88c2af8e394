#pragma once
/// Rate limits of a campaign: token buckets, overall and per resolver, on an injected
/// clock (unit tests use a manual one).

#include <chrono>
#include <cstddef>
#include <vector>

#include "fluxwatch/common/clock.h"

namespace fluxwatch::scheduler {

/// A monotonic time source.
class Clock {
 public:
  using time_point = SteadyTime;
  virtual ~Clock() = default;
  [[nodiscard]] virtual time_point now() const = 0;
};

/// The real clock (SteadyClock) behind the interface.
class RealClock final : public Clock {
 public:
  [[nodiscard]] time_point now() const override { return SteadyClock::now(); }
};

/**
 * A token bucket: `rate` tokens per second, holding at most `capacity`. It starts full, so
 * in any interval of length T at most rate x T + capacity tokens are taken, from start-up
 * on. rate <= 0 means unlimited.
 */
class TokenBucket {
 public:
  TokenBucket(double rate, double capacity, Clock::time_point now);
  /// Takes `n` tokens if there are that many; otherwise takes none.
  bool try_take(double n, Clock::time_point now);
  /// When `n` tokens will be there (now if they are).
  [[nodiscard]] Clock::time_point available_at(double n, Clock::time_point now) const;
  [[nodiscard]] bool unlimited() const noexcept { return rate_ <= 0; }

 private:
  void refill(Clock::time_point now);
  double rate_;
  double capacity_;
  double tokens_;
  Clock::time_point last_;
};

/**
 * A campaign's limits: one overall bucket and one per resolver. A domain's queries are
 * sent together (to one resolver), so a take of `n` needs n tokens in both buckets.
 * Capacity of each bucket: max(n_max, rate / 100), i.e. bursts of at most 10 ms worth.
 * Thread affinity: one thread.
 */
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double qps, double qps_per_resolver, std::size_t resolvers,
              std::size_t n_max);
  /// Takes `n` tokens for `resolver` (overall and its own) if both have them.
  bool try_acquire(std::size_t resolver, std::size_t n);
  /// The earliest time try_acquire(resolver, n) can succeed.
  [[nodiscard]] Clock::time_point available_at(std::size_t resolver, std::size_t n) const;
  /// Every-resolver mode: takes `n` tokens from every resolver and n x resolvers overall,
  /// if all are there; otherwise takes none.
  bool try_acquire_every(std::size_t n);
  /// The earliest time try_acquire_every(n) can succeed.
  [[nodiscard]] Clock::time_point available_at_every(std::size_t n) const;
  [[nodiscard]] std::size_t resolvers() const noexcept { return per_resolver_.size(); }

 private:
  const Clock* clock_;
  TokenBucket overall_;
  std::vector<TokenBucket> per_resolver_;
};

}  // namespace fluxwatch::scheduler
