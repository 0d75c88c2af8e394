#include "fluxwatch/scheduler/policy.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string_view>

#include "fluxwatch/scheduler/probe_round.h"

namespace fluxwatch::scheduler {
namespace {

/// splitmix64 finaliser: spreads std::hash values so that summing them stays collision-poor.
std::uint64_t mix(std::uint64_t value) noexcept {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27U)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31U);
}

}  // namespace

NextSchedule next_schedule(const IntervalPolicy& policy, const DomainHistory& previous,
                           const AnswerSummary& answers, double random01) {
  using std::chrono::milliseconds;
  NextSchedule next;
  next.history = previous;
  if (answers.answer_hash) {
    const bool unchanged = previous.answer_hash && *previous.answer_hash == *answers.answer_hash;
    next.history.stable_runs =
        unchanged
            ? static_cast<std::uint16_t>(std::min<int>(previous.stable_runs + 1, kMaxStableRuns))
            : 0;
    next.history.answer_hash = answers.answer_hash;
  }
  const milliseconds from_ttl =
      answers.min_ttl ? milliseconds(std::int64_t{*answers.min_ttl} * 1000) : policy.base;
  const double low = static_cast<double>(policy.min.count());
  const double high = static_cast<double>(std::max(policy.max, policy.min).count());
  // Doubling from the clamped TTL (a TTL of 0 must drift too), in double: 2^16 x 2^32 s
  // does not overflow it, and the clamp comes after.
  const double scaled = std::max(static_cast<double>(from_ttl.count()), low) *
                        std::ldexp(1.0, next.history.stable_runs);
  const double interval = std::clamp(scaled, low, high);
  const double u = std::clamp(random01, 0.0, 1.0);
  const double jitter = std::clamp(policy.jitter, 0.0, 0.99);
  double delay = 0;
  if (interval > low) {
    delay = std::max(low, interval * (1.0 - jitter * u));  // earlier, never below min
  } else {
    delay = std::min(high, low * (1.0 + jitter * u));  // at min: later, never above max
  }
  next.interval = milliseconds(static_cast<std::int64_t>(std::llround(interval)));
  next.delay = milliseconds(static_cast<std::int64_t>(std::llround(delay)));
  return next;
}

AnswerSummary summarize_answers(const std::vector<ProbeResult>& results) {
  AnswerSummary answers;
  std::uint64_t sum = 0;
  bool any_answer = false;
  for (const ProbeResult& result : results) {
    if (is_failure(result.outcome)) {
      continue;
    }
    any_answer = true;
    // The outcome is part of the answer: NOERROR -> NXDOMAIN is a change.
    sum += mix(static_cast<std::uint64_t>(result.qtype) << 8U |
               static_cast<std::uint64_t>(result.outcome));
    for (const ResourceRecord& record : result.records) {
      if (record.section != Section::Answer) {
        continue;
      }
      answers.min_ttl = answers.min_ttl ? std::min(*answers.min_ttl, record.ttl) : record.ttl;
      sum += mix(std::hash<std::string_view>{}(record.data) ^ (std::uint64_t{record.type} << 48U) ^
                 mix(std::hash<std::string_view>{}(record.owner)));
    }
  }
  if (any_answer) {
    answers.answer_hash = sum;
  }
  return answers;
}

}  // namespace fluxwatch::scheduler
