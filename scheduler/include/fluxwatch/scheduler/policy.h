#pragma once
/// When a watched domain is due next: the pure scheduling rules of `fluxwatch run`
/// (docs/scheduler.md). No clocks, sockets or database here; callers pass the time and
/// the random draw, so the rules are unit-tested exactly.

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "fluxwatch/common/types.h"

namespace fluxwatch::scheduler {

/// A campaign's interval settings.
struct IntervalPolicy {
  std::chrono::milliseconds base{std::chrono::hours(1)};  ///< used when no TTL was seen
  std::chrono::milliseconds min{std::chrono::minutes(1)};
  std::chrono::milliseconds max{std::chrono::hours(24)};
  double jitter = 0.05;  ///< fraction of the interval, 0 <= jitter < 1
  bool operator==(const IntervalPolicy&) const = default;
};

/// What the last probe of a domain left in the schedule.
struct DomainHistory {
  std::uint16_t stable_runs = 0;             ///< probes in a row with unchanged answers
  std::optional<std::uint64_t> answer_hash;  ///< of the last usable answers
  bool operator==(const DomainHistory&) const = default;
};

/// What this probe (all record types of one domain) saw.
struct AnswerSummary {
  std::optional<std::uint32_t> min_ttl;      ///< shortest answer-section TTL, seconds
  std::optional<std::uint64_t> answer_hash;  ///< nullopt: no usable answer (all failed)
};

/// The schedule after a probe.
struct NextSchedule {
  std::chrono::milliseconds interval{0};  ///< before jitter
  std::chrono::milliseconds delay{0};     ///< after jitter: next due = sent + delay
  DomainHistory history;
  bool operator==(const NextSchedule&) const = default;
};

/// Stable runs are counted up to this; 2^16 x the TTL is past any sensible max interval.
constexpr std::uint16_t kMaxStableRuns = 16;

/**
 * The rules:
 * - TTL-aware: the interval starts from the shortest answer TTL (the base interval when
 *   there is no answer record), clamped to [min, max].
 * - Adaptive: each probe whose answers equal the previous one doubles the interval
 *   (stable_runs + 1), so a domain that never changes drifts to `max`; any change resets
 *   it to the TTL (the fast end). A probe without a usable answer keeps the history.
 * - Jitter: `random01` in [0, 1) moves the due time up to jitter x interval earlier (never
 *   later than the TTL or max); at the minimum interval, up to jitter x min later instead.
 */
[[nodiscard]] NextSchedule next_schedule(const IntervalPolicy& policy,
                                         const DomainHistory& previous,
                                         const AnswerSummary& answers, double random01);

/// Shortest TTL and an order-independent hash (type + data, not TTL) of the answer
/// sections of `results`; answer_hash is nullopt if none of them got an answer.
[[nodiscard]] AnswerSummary summarize_answers(const std::vector<ProbeResult>& results);

}  // namespace fluxwatch::scheduler
