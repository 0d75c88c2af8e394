#include "fluxwatch/scheduler/resolver_health.h"

#include <algorithm>

namespace fluxwatch::scheduler {

ResolverHealth::ResolverHealth(std::size_t resolvers, ResolverHealthOptions options)
    : options_(options), state_(std::max<std::size_t>(resolvers, 1)) {
  options_.failures_to_mark = std::max<std::size_t>(options_.failures_to_mark, 1);
}

ResolverHealth::Change ResolverHealth::record(std::size_t resolver, bool failed) {
  if (resolver >= state_.size()) {
    return Change::None;  // a domain's own name server (authoritative mode)
  }
  State& state = state_[resolver];
  if (!failed) {
    state.failures_in_row = 0;
    if (!state.healthy) {
      state.healthy = true;
      return Change::BecameHealthy;
    }
    return Change::None;
  }
  ++state.failures_in_row;
  if (state.healthy && state.failures_in_row >= options_.failures_to_mark) {
    state.healthy = false;
    state.next_retry = {};  // the first retry may go at once
    return Change::BecameUnhealthy;
  }
  return Change::None;
}

bool ResolverHealth::healthy(std::size_t resolver) const {
  return resolver >= state_.size() || state_[resolver].healthy;
}

std::size_t ResolverHealth::failures_in_row(std::size_t resolver) const {
  return resolver < state_.size() ? state_[resolver].failures_in_row : 0;
}

std::size_t ResolverHealth::choose(std::size_t preferred, TimePoint now,
                                   const std::function<bool(std::size_t)>& usable) {
  const std::size_t count = state_.size();
  const bool any_healthy =
      std::any_of(state_.begin(), state_.end(), [](const State& s) { return s.healthy; });
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t candidate = (preferred + i) % count;
    State& state = state_[candidate];
    const bool retry_due = !state.healthy && now >= state.next_retry;
    if (any_healthy && !state.healthy && !retry_due) {
      continue;
    }
    if (usable && !usable(candidate)) {
      continue;
    }
    if (any_healthy && !state.healthy) {
      state.next_retry = now + options_.retry_interval;
    }
    return candidate;
  }
  return count;
}

std::size_t ResolverHealth::spread(std::uint64_t index, std::uint64_t turn,
                                   std::size_t resolvers) noexcept {
  if (resolvers <= 1) {
    return 0;
  }
  return static_cast<std::size_t>((index % resolvers + turn % resolvers) % resolvers);
}

}  // namespace fluxwatch::scheduler
