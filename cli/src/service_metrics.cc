#include "service_metrics.h"

#include <chrono>
#include <set>
#include <string_view>
#include <tuple>

#include "fluxwatch/scheduler/engine.h"

namespace fluxwatch::cli {
namespace {

const std::vector<double> kLatencyBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kLatenessBounds{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600};

double seconds_since_epoch(std::chrono::system_clock::time_point when) {
  return std::chrono::duration<double>(when.time_since_epoch()).count();
}

}  // namespace

ServiceMetrics::ServiceMetrics()
    : queries_(registry_.counter("fluxwatch_queries_total",
                                 "DNS queries answered or given up on, by campaign, resolver "
                                 "(ip:port asked), query type and outcome",
                                 {"campaign", "resolver", "qtype", "outcome"})),
      answers_(registry_.counter("fluxwatch_answer_records_total",
                                 "Resource records in the answer sections received",
                                 {"campaign", "qtype"})),
      tcp_fallbacks_(registry_.counter("fluxwatch_tcp_fallbacks_total",
                                       "Results whose truncated UDP answer was asked again over "
                                       "TCP",
                                       {"campaign"})),
      latency_(registry_.histogram("fluxwatch_query_duration_seconds",
                                   "Time from sending a query to its final answer (or to giving "
                                   "up), retries included",
                                   {"campaign"}, kLatencyBounds)),
      lateness_(registry_.histogram("fluxwatch_probe_lateness_seconds",
                                    "Probe time minus due time of scheduled probes (run)",
                                    {"campaign"}, kLatenessBounds)),
      sent_(registry_.counter("fluxwatch_queries_sent_total",
                              "Queries handed to the resolver library (run workers)",
                              {"campaign"})),
      stored_(registry_.counter("fluxwatch_probes_stored_total",
                                "Probe results committed to PostgreSQL", {"campaign"})),
      dropped_(registry_.counter("fluxwatch_probes_dropped_total",
                                 "Results not stored because their lease ran out (another "
                                 "worker took the domains over)",
                                 {"campaign"})),
      db_errors_(registry_.counter("fluxwatch_database_errors_total",
                                   "Failed database operations (retried with backoff)",
                                   {"campaign"})),
      db_reconnects_(registry_.counter("fluxwatch_database_reconnects_total",
                                       "Times the database came back after failing", {"campaign"})),
      tcp_retries_(registry_.counter("fluxwatch_tcp_retries_total",
                                     "Queries re-sent over TCP after a truncated UDP answer",
                                     {"campaign"})),
      mismatched_(registry_.counter("fluxwatch_mismatched_replies_total",
                                    "Replies dropped because they matched no query in flight "
                                    "(wrong ID or question: spoofing or broken servers)",
                                    {"campaign"})),
      edns_fallbacks_(registry_.counter("fluxwatch_edns_fallbacks_total",
                                        "Queries re-sent without EDNS0 after FORMERR",
                                        {"campaign"})),
      buffered_(registry_.gauge("fluxwatch_results_buffered",
                                "Results probed and not yet committed", {"campaign"})),
      unwritten_(registry_.gauge("fluxwatch_results_unwritten",
                                 "Results left unwritten at shutdown (database unreachable)",
                                 {"campaign"})),
      leases_(registry_.gauge("fluxwatch_leases_held",
                              "Domains this process holds leases on and has not finished",
                              {"campaign"})),
      database_up_(registry_.gauge("fluxwatch_database_up",
                                   "1 if the last status read reached the database, else 0")),
      watched_(registry_.gauge("fluxwatch_watched_domains", "Domains on the watchlist")),
      due_(registry_.gauge("fluxwatch_schedule_due", "Scheduled domains whose due time has passed",
                           {"campaign"})),
      backlog_(registry_.gauge("fluxwatch_schedule_backlog",
                               "Due domains no live lease holds (nobody is probing them)",
                               {"campaign"})),
      overdue_(registry_.gauge("fluxwatch_schedule_oldest_overdue_seconds",
                               "How long the oldest unleased due domain has waited (0: none)",
                               {"campaign"})),
      geoip_built_(registry_.gauge("fluxwatch_geoip_build_timestamp_seconds",
                                   "Build time of each configured GeoIP database (Unix time)",
                                   {"database_type", "path"})),
      last_success_(registry_.gauge("fluxwatch_last_success_timestamp_seconds",
                                    "When this process last finished a probe/run successfully "
                                    "(Unix time)")),
      resolver_failures_(registry_.gauge(
          "fluxwatch_resolver_failures_in_row",
          "Failed queries (timeout, refused, malformed, network error) a resolver gave since "
          "its last answer, over the results this process observed",
          {"resolver"})),
      resolver_healthy_(registry_.gauge("fluxwatch_resolver_healthy",
                                        "1 while a resolver answers, 0 once it failed the "
                                        "engine's number of queries in a row (default 3)",
                                        {"resolver"})) {
  registry_.gauge("fluxwatch_build_info", "The fluxwatch version (value 1)", {"version"})
      .with({FLUXWATCH_VERSION})
      .set(1);
  registry_.gauge("fluxwatch_start_time_seconds", "When this process started (Unix time)")
      .get()
      .set(seconds_since_epoch(std::chrono::system_clock::now()));
}

scheduler::BatchObserver ServiceMetrics::observer(const std::string& campaign) {
  return [this, campaign](std::span<const ProbeResult> results) { observe(campaign, results); };
}

void ServiceMetrics::observe(const std::string& campaign, std::span<const ProbeResult> results) {
  // Counted per batch first: a child lookup takes a lock, a batch has thousands of results.
  std::map<std::tuple<std::string_view, std::uint16_t, Outcome>, std::size_t> queries;
  std::map<std::uint16_t, std::size_t> answers;
  std::size_t tcp = 0;
  auto& latency = latency_.with({campaign});
  auto& lateness = lateness_.with({campaign});
  for (const auto& result : results) {
    ++queries[{result.resolver, static_cast<std::uint16_t>(result.qtype), result.outcome}];
    for (const auto& record : result.records) {
      if (record.section == Section::Answer) {
        ++answers[static_cast<std::uint16_t>(result.qtype)];
      }
    }
    tcp += result.via_tcp ? 1 : 0;
    latency.observe(std::chrono::duration<double>(result.latency).count());
    if (result.due_at) {
      lateness.observe(std::chrono::duration<double>(result.sent_at - *result.due_at).count());
    }
  }
  for (const auto& [key, count] : queries) {
    const auto& [resolver, qtype, outcome] = key;
    queries_
        .with({campaign, std::string(resolver), rrtype_name(qtype),
               std::string(outcome_name(outcome))})
        .inc(static_cast<double>(count));
  }
  for (const auto& [qtype, count] : answers) {
    answers_.with({campaign, rrtype_name(qtype)}).inc(static_cast<double>(count));
  }
  tcp_fallbacks_.with({campaign}).inc(static_cast<double>(tcp));
  resolver_health(results);
}

void ServiceMetrics::resolver_health(std::span<const ProbeResult> results) {
  std::lock_guard lock(mutex_);
  std::set<std::string_view> seen;
  for (const auto& result : results) {
    if (result.mode == ProbeMode::Authoritative || result.resolver.empty()) {
      continue;  // a domain's own name server, not a resolver
    }
    auto health = resolver_health_.find(result.resolver);
    if (health == resolver_health_.end()) {
      health = resolver_health_
                   .emplace(result.resolver,
                            scheduler::ResolverHealth(1, scheduler::ResolverHealthOptions{}))
                   .first;
    }
    health->second.record(0, scheduler::is_failure(result.outcome));
    seen.insert(health->first);
  }
  for (const auto resolver : seen) {
    const auto& health = resolver_health_.find(resolver)->second;
    const std::vector<std::string> labels{std::string(resolver)};
    resolver_failures_.with(labels).set(static_cast<double>(health.failures_in_row(0)));
    resolver_healthy_.with(labels).set(health.healthy(0) ? 1 : 0);
  }
}

void ServiceMetrics::worker_totals(const std::string& campaign,
                                   const scheduler::WorkerStats& totals) {
  std::lock_guard lock(mutex_);
  auto& last = last_totals_[campaign];
  const auto add = [&](metrics::Family<metrics::Counter>& family, std::size_t now,
                       std::size_t before) {
    family.with({campaign}).inc(static_cast<double>(now >= before ? now - before : 0));
  };
  add(sent_, totals.queries_sent, last.queries_sent);
  add(stored_, totals.probes_stored, last.probes_stored);
  add(dropped_, totals.probes_dropped, last.probes_dropped);
  add(db_errors_, totals.db_errors, last.db_errors);
  add(db_reconnects_, totals.db_reconnects, last.db_reconnects);
  add(tcp_retries_, totals.tcp_retries, last.tcp_retries);
  add(mismatched_, totals.mismatched, last.mismatched);
  add(edns_fallbacks_, totals.edns_fallbacks, last.edns_fallbacks);
  buffered_.with({campaign}).set(static_cast<double>(totals.buffered));
  unwritten_.with({campaign}).set(static_cast<double>(totals.probes_unwritten));
  leases_.with({campaign}).set(static_cast<double>(totals.leases_held));
  last = totals;
}

void ServiceMetrics::round_totals(std::size_t stored, std::size_t tcp_retries,
                                  std::size_t mismatched, std::size_t edns_fallbacks) {
  const std::string campaign;  // `probe` rounds belong to no campaign
  stored_.with({campaign}).inc(static_cast<double>(stored));
  tcp_retries_.with({campaign}).inc(static_cast<double>(tcp_retries));
  mismatched_.with({campaign}).inc(static_cast<double>(mismatched));
  edns_fallbacks_.with({campaign}).inc(static_cast<double>(edns_fallbacks));
}

void ServiceMetrics::status(const status::StatusReport& report) {
  database_up_.get().set(report.reachable ? 1 : 0);
  if (report.reachable) {
    watched_.get().set(static_cast<double>(report.watched_domains));
    for (const auto& campaign : report.campaigns) {
      due_.with({campaign.name}).set(static_cast<double>(campaign.due_now));
      backlog_.with({campaign.name}).set(static_cast<double>(campaign.backlog));
      overdue_.with({campaign.name}).set(campaign.oldest_overdue_seconds.value_or(0));
    }
  }
  geo_files(report.geo_files);
}

void ServiceMetrics::geo_files(const std::vector<status::GeoFileStatus>& files) {
  for (const auto& file : files) {
    if (file.built) {
      geoip_built_.with({file.database_type, file.path}).set(seconds_since_epoch(*file.built));
    }
  }
}

void ServiceMetrics::finished_now() {
  last_success_.get().set(seconds_since_epoch(std::chrono::system_clock::now()));
}

}  // namespace fluxwatch::cli
