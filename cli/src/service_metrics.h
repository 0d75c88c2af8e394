#pragma once
/// fluxwatch's Prometheus metrics (names, labels, help: docs/operations.md lists them):
/// fed by the scheduler's batch observer, the workers' totals and the status snapshot,
/// served by `run` on metrics.listen or written by `probe` / `run --once` to
/// --metrics-file.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "fluxwatch/common/types.h"
#include "fluxwatch/metrics/registry.h"
#include "fluxwatch/scheduler/observer.h"
#include "fluxwatch/scheduler/resolver_health.h"
#include "fluxwatch/scheduler/worker.h"
#include "fluxwatch/status/status.h"

namespace fluxwatch::cli {

class ServiceMetrics {
 public:
  ServiceMetrics();

  [[nodiscard]] metrics::Registry& registry() noexcept { return registry_; }

  /// An observer counting every result of `campaign`'s batches (thread-safe).
  [[nodiscard]] scheduler::BatchObserver observer(const std::string& campaign);
  void observe(const std::string& campaign, std::span<const ProbeResult> results);

  /// A worker's totals so far (WorkerStats is cumulative; the counters take the increase).
  void worker_totals(const std::string& campaign, const scheduler::WorkerStats& totals);
  /// Results stored and crawler counters of a `probe` round.
  void round_totals(std::size_t stored, std::size_t tcp_retries, std::size_t mismatched,
                    std::size_t edns_fallbacks);
  /// Readings from the database (schedule, watchlist) and the GeoIP files.
  void status(const status::StatusReport& report);
  /// Build times of the configured GeoIP files.
  void geo_files(const std::vector<status::GeoFileStatus>& files);
  /// The end of a successful `probe` / `run --once`, for "has the cron job run?" alerts.
  void finished_now();

 private:
  /// Updates the resolver gauges from a batch's results (the engine's rule, per resolver).
  void resolver_health(std::span<const ProbeResult> results);

  metrics::Registry registry_;
  metrics::Family<metrics::Counter>& queries_;
  metrics::Family<metrics::Counter>& answers_;
  metrics::Family<metrics::Counter>& tcp_fallbacks_;
  metrics::Family<metrics::Histogram>& latency_;
  metrics::Family<metrics::Histogram>& lateness_;
  metrics::Family<metrics::Counter>& sent_;
  metrics::Family<metrics::Counter>& stored_;
  metrics::Family<metrics::Counter>& dropped_;
  metrics::Family<metrics::Counter>& db_errors_;
  metrics::Family<metrics::Counter>& db_reconnects_;
  metrics::Family<metrics::Counter>& tcp_retries_;
  metrics::Family<metrics::Counter>& mismatched_;
  metrics::Family<metrics::Counter>& edns_fallbacks_;
  metrics::Family<metrics::Gauge>& buffered_;
  metrics::Family<metrics::Gauge>& unwritten_;
  metrics::Family<metrics::Gauge>& leases_;
  metrics::Family<metrics::Gauge>& database_up_;
  metrics::Family<metrics::Gauge>& watched_;
  metrics::Family<metrics::Gauge>& due_;
  metrics::Family<metrics::Gauge>& backlog_;
  metrics::Family<metrics::Gauge>& overdue_;
  metrics::Family<metrics::Gauge>& geoip_built_;
  metrics::Family<metrics::Gauge>& last_success_;
  metrics::Family<metrics::Gauge>& resolver_failures_;
  metrics::Family<metrics::Gauge>& resolver_healthy_;

  std::mutex mutex_;
  std::map<std::string, scheduler::WorkerStats> last_totals_;  // per campaign
  /// Per resolver ("ip:port" asked), the engine's rule over the results observed here, in
  /// the order their batches arrive (one ResolverHealth of one resolver each).
  std::map<std::string, scheduler::ResolverHealth, std::less<>> resolver_health_;
};

}  // namespace fluxwatch::cli
