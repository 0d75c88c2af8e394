#include "fluxwatch/scheduler/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace fluxwatch::scheduler {

TokenBucket::TokenBucket(double rate, double capacity, Clock::time_point now)
    : rate_(rate), capacity_(std::max(capacity, 1.0)), tokens_(capacity_), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now > last_) {
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(capacity_, tokens_ + seconds * rate_);
    last_ = now;
  }
}

bool TokenBucket::try_take(double n, Clock::time_point now) {
  if (unlimited()) {
    return true;
  }
  refill(now);
  if (tokens_ + 1e-9 < n) {
    return false;
  }
  tokens_ -= n;
  return true;
}

Clock::time_point TokenBucket::available_at(double n, Clock::time_point now) const {
  if (unlimited()) {
    return now;
  }
  double tokens = tokens_;
  if (now > last_) {
    tokens =
        std::min(capacity_, tokens + std::chrono::duration<double>(now - last_).count() * rate_);
  }
  if (tokens + 1e-9 >= n) {
    return now;
  }
  const double seconds = (n - tokens) / rate_;
  return now +
         std::chrono::duration_cast<Clock::time_point::duration>(
             std::chrono::duration<double>(seconds)) +
         std::chrono::microseconds(1);
}

RateLimiter::RateLimiter(const Clock& clock, double qps, double qps_per_resolver,
                         std::size_t resolvers, std::size_t n_max)
    : clock_(&clock),
      overall_(qps, std::max(static_cast<double>(n_max), qps / 100.0), clock.now()) {
  const auto now = clock.now();
  per_resolver_.reserve(std::max<std::size_t>(resolvers, 1));
  for (std::size_t i = 0; i < std::max<std::size_t>(resolvers, 1); ++i) {
    per_resolver_.emplace_back(qps_per_resolver,
                               std::max(static_cast<double>(n_max), qps_per_resolver / 100.0), now);
  }
}

bool RateLimiter::try_acquire(std::size_t resolver, std::size_t n) {
  const auto now = clock_->now();
  TokenBucket& own = per_resolver_.at(resolver);
  const auto count = static_cast<double>(n);
  if (own.available_at(count, now) > now || overall_.available_at(count, now) > now) {
    return false;
  }
  own.try_take(count, now);
  overall_.try_take(count, now);
  return true;
}

bool RateLimiter::try_acquire_every(std::size_t n) {
  const auto now = clock_->now();  // read once: an unlimited bucket is available "now"
  const auto count = static_cast<double>(n);
  const double total = count * static_cast<double>(per_resolver_.size());
  if (overall_.available_at(total, now) > now) {
    return false;
  }
  for (const TokenBucket& own : per_resolver_) {
    if (own.available_at(count, now) > now) {
      return false;
    }
  }
  for (TokenBucket& own : per_resolver_) {
    own.try_take(count, now);
  }
  overall_.try_take(total, now);
  return true;
}

Clock::time_point RateLimiter::available_at_every(std::size_t n) const {
  const auto now = clock_->now();
  const auto count = static_cast<double>(n);
  auto at = overall_.available_at(count * static_cast<double>(per_resolver_.size()), now);
  for (const TokenBucket& own : per_resolver_) {
    at = std::max(at, own.available_at(count, now));
  }
  return at;
}

Clock::time_point RateLimiter::available_at(std::size_t resolver, std::size_t n) const {
  const auto now = clock_->now();
  const auto count = static_cast<double>(n);
  return std::max(per_resolver_.at(resolver).available_at(count, now),
                  overall_.available_at(count, now));
}

}  // namespace fluxwatch::scheduler
