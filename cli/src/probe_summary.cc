#include "probe_summary.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace fluxwatch::cli {
namespace {

double round_to(double value, double step) { return std::round(value / step) * step; }

}  // namespace

std::vector<UnhealthyResolver> unhealthy_resolvers(const scheduler::RoundSummary& summary,
                                                   const std::vector<std::string>& configured,
                                                   double threshold) {
  std::vector<UnhealthyResolver> out;
  for (const auto& [resolver, tally] : summary.resolvers) {
    if (tally.queries == 0 || std::ranges::find(configured, resolver) == configured.end()) {
      continue;
    }
    const double ratio = static_cast<double>(tally.failures) / static_cast<double>(tally.queries);
    if (ratio >= threshold) {
      out.push_back({resolver, tally});
    }
  }
  return out;
}

void warn_unhealthy(const std::vector<UnhealthyResolver>& unhealthy) {
  for (const auto& [resolver, tally] : unhealthy) {
    spdlog::warn(
        "resolver {} looks dead: {} of {} quer{} got no answer (timeouts or refused "
        "connections); check the address and port (--resolver / `resolvers`) and that the "
        "server runs. Those probes are stored as measured (exit status 3)",
        resolver, tally.failures, tally.queries, tally.queries == 1 ? "y" : "ies");
  }
}

void print_round_summary(const scheduler::RoundSummary& summary, int round, int rounds, bool stored,
                         const std::vector<UnhealthyResolver>& unhealthy, bool json) {
  const double seconds = summary.elapsed.count();
  const double rate = seconds > 0 ? static_cast<double>(summary.queries) / seconds : 0.0;
  if (json) {
    nlohmann::json outcomes = nlohmann::json::object();
    for (const auto& [outcome, count] : summary.outcomes) {
      outcomes[std::string(outcome_name(outcome))] = count;
    }
    auto resolvers = nlohmann::json::array();
    for (const auto& [resolver, tally] : summary.resolvers) {
      const bool healthy = std::ranges::none_of(
          unhealthy, [&](const UnhealthyResolver& u) { return u.resolver == resolver; });
      resolvers.push_back({{"resolver", resolver},
                           {"queries", tally.queries},
                           {"failures", tally.failures},
                           {"healthy", healthy}});
    }
    const nlohmann::json line{
        {"run_id", stored ? nlohmann::json(summary.run_id) : nlohmann::json(nullptr)},
        {"round", round},
        {"rounds", rounds},
        {"stored", stored},
        {"queries", summary.queries},
        {"records", summary.records},
        {"errors", summary.errors},
        {"outcomes", outcomes},
        {"resolvers", resolvers},
        {"seconds", round_to(seconds, 0.001)},
        {"queries_per_second", round_to(rate, 0.1)}};
    fmt::print("{}\n", line.dump());
  } else {
    std::string outcomes;
    for (const auto& [outcome, count] : summary.outcomes) {
      outcomes += fmt::format(" {}={}", outcome_name(outcome), count);
    }
    fmt::print("run {}: round {}/{}: {} queries, {} records{}, {} errors, {:.2f} s;{}{}\n",
               stored ? std::to_string(summary.run_id) : std::string("-"), round, rounds,
               summary.queries, summary.records, stored ? " stored" : " (not stored)",
               summary.errors, seconds, outcomes.empty() ? " nothing to probe" : outcomes,
               unhealthy.empty() ? "" : fmt::format("; {} resolver(s) dead", unhealthy.size()));
  }
  std::fflush(stdout);
}

}  // namespace fluxwatch::cli
