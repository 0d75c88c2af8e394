#pragma once
/// What `fluxwatch probe` tells the user and scripts after each round: the run id and totals
/// on stdout (text or one JSON line), and the resolvers that failed (a dead or mistyped
/// `--resolver` must not look like success).

#include <string>
#include <vector>

#include "fluxwatch/scheduler/probe_round.h"

namespace fluxwatch::cli {

struct UnhealthyResolver {
  std::string resolver;
  scheduler::ResolverTally tally;
};

/// The configured resolvers among `summary.resolvers` whose share of failed queries
/// (timeouts, refused connections, ... : no answer measured) is at least `threshold`
/// (1.0: every query failed). Servers not in `configured` (a domain's own name servers in
/// --authoritative mode) are measurements, never "unhealthy".
[[nodiscard]] std::vector<UnhealthyResolver> unhealthy_resolvers(
    const scheduler::RoundSummary& summary, const std::vector<std::string>& configured,
    double threshold);

/// Logs one loud warning per unhealthy resolver, saying what to check.
void warn_unhealthy(const std::vector<UnhealthyResolver>& unhealthy);

/// One round's totals on stdout: a line of text, or one JSON object per line (`json`).
void print_round_summary(const scheduler::RoundSummary& summary, int round, int rounds, bool stored,
                         const std::vector<UnhealthyResolver>& unhealthy, bool json);

}  // namespace fluxwatch::cli
