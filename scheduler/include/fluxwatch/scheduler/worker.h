#pragma once
/// One `fluxwatch run` worker for one campaign: leases due domains from PostgreSQL, probes
/// them through the crawler under the campaign's rate limits, and commits each probe
/// together with the domain's next due time. Any number of workers may share a database.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fluxwatch/common/types.h"
#include "fluxwatch/crawler/crawler.h"
#include "fluxwatch/geo/enricher.h"
#include "fluxwatch/scheduler/engine.h"
#include "fluxwatch/scheduler/policy.h"
#include "fluxwatch/storage/database.h"
#include "fluxwatch/storage/schedule_store.h"

namespace fluxwatch::scheduler {

/// What a worker does and how; the CLI fills it from the config's campaign.
struct WorkerOptions {
  std::string campaign = "default";
  storage::CampaignSelection selection;
  EngineOptions engine;  ///< mode, record types, vantage, batch size, settings (as `probe`)
  IntervalPolicy intervals;
  std::optional<std::chrono::system_clock::time_point> start;  ///< nothing before
  std::optional<std::chrono::system_clock::time_point> end;    ///< nothing after
  double qps = 0;                                  ///< overall queries per second, 0 = unlimited
  double qps_per_resolver = 0;                     ///< per resolver, 0 = unlimited
  std::string worker_id;                           ///< unique per process; lease owner
  std::chrono::milliseconds lease{60000};          ///< lease length (renewed while held)
  std::size_t lease_batch = 1000;                  ///< domains leased at once
  std::chrono::milliseconds lookahead{1000};       ///< lease domains due this far ahead
  std::chrono::milliseconds flush_interval{1000};  ///< longest a result waits for the writer
  std::size_t buffer_limit = 100000;               ///< results held unwritten before probing pauses
  std::chrono::milliseconds shutdown_grace{15000};   ///< for in-flight queries and the flush
  std::chrono::milliseconds resync_interval{60000};  ///< re-read the campaign's watchlist
  bool once = false;  ///< probe what is due at start-up, then return (cron mode)
};

/// What a worker works with, owned by the caller (so that tests can hand in their own):
/// the crawler is used by the probing thread, the rest by the writer thread.
struct WorkerParts {
  crawler::Crawler& crawler;
  geo::Enricher& enricher;  ///< replaced in place on a GeoIP reload
  storage::Database& database;
  storage::ScheduleStore& schedule;
};

/// Settings a running worker takes over on reload (SIGHUP) without dropping work.
struct ReloadableSettings {
  IntervalPolicy intervals;
  std::string vantage;
  double qps = 0;
  double qps_per_resolver = 0;
  geo::GeoOptions geo;
};

/// Totals of a worker's run.
struct WorkerStats {
  std::size_t queries_sent = 0;
  std::size_t probes_stored = 0;
  std::size_t records_stored = 0;
  std::size_t probes_dropped = 0;    ///< lease lost before commit: another worker has them
  std::size_t probes_unwritten = 0;  ///< still buffered at exit (database unreachable)
  std::size_t domains_probed = 0;
  std::size_t errors = 0;  ///< timeouts and other failures
};

/**
 * Runs one campaign. run() blocks: in daemon mode until `stop` becomes true, in once mode
 * until every domain due at start-up is probed and stored (or `stop`). On stop it takes no
 * new work, lets queries in flight finish (bounded by shutdown_grace), writes every
 * buffered result, and frees its leases.
 * A lost database connection is retried with backoff; meanwhile the domains already leased
 * are probed into a buffer of at most buffer_limit results (no new ones can be leased).
 * Whatever the outage, a result is stored at most once per (domain, due time); it is
 * dropped only when another worker took the domain over (logged with its name).
 * Thread affinity: run() on one thread (it starts one writer thread); reload() from any.
 * @throw fluxwatch::Error if the database cannot be reached at start-up.
 */
class Worker {
 public:
  Worker(WorkerOptions options, WorkerParts parts);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  Worker(Worker&&) = delete;
  Worker& operator=(Worker&&) = delete;

  WorkerStats run(const std::atomic<bool>& stop);
  /// The totals so far (thread-safe), e.g. for a status line.
  [[nodiscard]] WorkerStats snapshot() const;
  /// Takes over new settings at the next loop turn (thread-safe).
  void reload(const ReloadableSettings& settings);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// "host:pid:random": a lease owner id unique across machines and restarts.
[[nodiscard]] std::string make_worker_id();

}  // namespace fluxwatch::scheduler
